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
from queuefirst.runtime.sender import CommandSender, sqs_client
from queuefirst.runtime.settings import ApiSettings
from queuefirst.runtime.telemetry import make_logger, make_metrics
from queuefirst.store.database import Database


def build_api(
    registry: Registry, settings: ApiSettings
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    database = Database(
        settings.database_url,
        iam_auth=settings.db_iam_auth,
        region=settings.aws_region,
        prepared_statements=settings.db_prepared_statements,
    )
    sender = CommandSender(
        partial(sqs_client, settings.sqs_endpoint_url, settings.aws_region),
        registry.app,
        queue_url_prefix=settings.queue_url_prefix,
    )
    service = ApiService(registry, database, sender, VersionClock())
    name = api_function_name(registry.app)
    logger = make_logger(name)
    app = build_resolver(
        service, page_limit_max=settings.page_limit_max, title=f"{registry.app} api", logger=logger
    )
    return make_handler(app, logger, make_metrics(name, name), settings.max_body_bytes)
