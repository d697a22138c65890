"""Building the admin function's composition root from its settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from queuefirst.admin.app import Console
from queuefirst.admin.operations import Operations
from queuefirst.admin.ops_pages import OperationsPages
from queuefirst.admin.pages import DataPages
from queuefirst.admin.settings import AdminSettings
from queuefirst.api.service import ApiService
from queuefirst.api.versioning import VersionClock
from queuefirst.model.command import Producer
from queuefirst.model.names import admin_function_name
from queuefirst.model.registry import Registry
from queuefirst.runtime.database import function_database, probe_answer
from queuefirst.runtime.dead_letters import DeadLetters
from queuefirst.runtime.sender import CommandSender, sqs_client
from queuefirst.runtime.telemetry import make_logger
from queuefirst.store.database import open_at_init
from queuefirst.store.revision import is_probe

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def build_operations(registry: Registry, settings: AdminSettings) -> Operations:
    if settings.control_url:
        from queuefirst.admin.local_operations import LocalOperations

        return LocalOperations(settings.control_url, settings.control_token)
    from queuefirst.admin.aws_operations import AwsOperations, boto3_clients

    return AwsOperations(registry, boto3_clients(settings.aws_region, settings.sqs_endpoint_url))


def build_admin(registry: Registry, settings: AdminSettings, *, open_now: bool = False) -> Handler:
    name = admin_function_name(registry.app)
    logger = make_logger(name)
    database, guard = function_database(settings, registry.app, logger)
    open_at_init(database, checked=open_now and settings.schema_revision is not None, logger=logger)
    make_client = partial(sqs_client, settings.sqs_endpoint_url, settings.aws_region)
    sender = CommandSender(make_client, registry.app, queue_url_prefix=settings.queue_url_prefix)
    service = ApiService(registry, database, sender, VersionClock(), producer=Producer(kind="admin"))
    console = Console(
        DataPages(service, settings.page_size),
        OperationsPages(
            registry,
            cache(lambda: build_operations(registry, settings)),
            cache(lambda: DeadLetters(make_client(), registry.app, database)),
        ),
        logger,
        issuer=settings.operators_issuer,
    )

    @logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if is_probe(event):
            # A deploy asks a new version, before any traffic, what it needs and finds.
            return probe_answer(database, guard, settings.function_version)
        response = console.handle(event, settings.max_body_bytes)
        method = (event.get("requestContext") or {}).get("http", {}).get("method")
        logger.info(
            "request", extra={"method": method, "path": event.get("rawPath"), "status": response.status}
        )
        return response.to_lambda()

    return handler
