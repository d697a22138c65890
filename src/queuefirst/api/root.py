"""Building the api's composition root from its settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from queuefirst.api.app import build_resolver, make_handler
from queuefirst.api.service import ApiService
from queuefirst.api.versioning import VersionClock
from queuefirst.model.names import api_function_name
from queuefirst.model.registry import Registry
from queuefirst.runtime.database import function_database, probe_answer
from queuefirst.runtime.sender import CommandSender, sqs_client
from queuefirst.runtime.settings import ApiSettings
from queuefirst.runtime.telemetry import make_logger, make_metrics, traced
from queuefirst.store.database import open_at_init


def build_api(
    registry: Registry, settings: ApiSettings, *, open_now: bool = False
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """`open_now`: open the connection here (the function's init), so its schema guard runs."""
    name = api_function_name(registry.app)
    logger = make_logger(name)
    database, guard = function_database(settings, registry.app, logger)
    open_at_init(database, checked=open_now and settings.schema_revision is not None, logger=logger)
    sender = CommandSender(
        partial(sqs_client, settings.sqs_endpoint_url, settings.aws_region),
        registry.app,
        queue_url_prefix=settings.queue_url_prefix,
    )
    service = ApiService(registry, database, sender, VersionClock())
    app = build_resolver(
        service,
        page_limit_max=settings.page_limit_max,
        title=f"{registry.app} api",
        logger=logger,
        issuers=settings.issuers,
    )
    handler = make_handler(
        app,
        logger,
        make_metrics(name, name),
        settings.max_body_bytes,
        probe=lambda: probe_answer(database, guard, settings.function_version),
        version=settings.function_version,
    )
    return traced(handler, name, settings.tracing)
