"""Building a worker's composition root from its settings."""

from __future__ import annotations

from functools import partial

from queuefirst.model.entity import Entity
from queuefirst.model.names import worker_function_name
from queuefirst.runtime.database import function_database
from queuefirst.runtime.sender import CommandSender, sqs_client
from queuefirst.runtime.settings import WorkerSettings
from queuefirst.runtime.telemetry import make_logger, make_metrics
from queuefirst.store.entity_store import EntityStore
from queuefirst.worker.batch import BatchApplier
from queuefirst.worker.handler import WorkerRoot
from queuefirst.worker.observe import BatchObserver


def build_worker(app: str, entity: Entity, settings: WorkerSettings) -> WorkerRoot:
    if entity.name != settings.entity:
        raise ValueError(f"QUEUEFIRST_ENTITY={settings.entity} but the loaded entity is {entity.name}")
    service = worker_function_name(app, entity.name)
    logger = make_logger(service)
    database, guard = function_database(settings, app, logger)
    sender = CommandSender(
        partial(sqs_client, settings.sqs_endpoint_url, settings.aws_region),
        app,
        allowed=settings.allowed_targets,
        queue_url_prefix=settings.queue_url_prefix,
    )
    metrics = make_metrics(service, service)
    return WorkerRoot(
        entity=entity,
        database=database,
        applier=BatchApplier(entity, EntityStore(entity, database), sender),
        observer=BatchObserver(logger, metrics, service, settings.function_version),
        metrics=metrics,
        guard=guard,
        version=settings.function_version,
        function=service,
        tracing=settings.tracing,
    )
