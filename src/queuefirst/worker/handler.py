"""The worker's Lambda entrypoint: parse the SQS event, apply the batch, answer which records failed.

The partial batch response lists exactly the messages that failed (for a FIFO
queue, also the later messages of a failed message's lane), so SQS deletes
what is settled and hands the rest back in order. How each message went is
told by `queuefirst.worker.observe`; why each failed the applier has recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from queuefirst.model.entity import Entity
from queuefirst.runtime.database import probe_answer
from queuefirst.runtime.telemetry import timed, traced
from queuefirst.store.database import Database
from queuefirst.store.revision import SchemaGuard, is_probe
from queuefirst.worker.batch import BatchApplier
from queuefirst.worker.lanes import Message, Report
from queuefirst.worker.observe import BatchObserver

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class WorkerRoot:
    """Everything a warm worker reuses between invocations."""

    entity: Entity
    database: Database
    applier: BatchApplier
    observer: BatchObserver
    metrics: Metrics
    guard: SchemaGuard
    version: str
    function: str
    tracing: bool = False

    @property
    def logger(self) -> Logger:
        return self.observer.logger


def make_handler(root: WorkerRoot) -> Handler:
    @root.metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if is_probe(event):
            # A deploy asks a new version, before any traffic, what it needs and finds.
            return probe_answer(root.database, root.guard, root.version)
        records = event.get("Records", [])
        if not records:
            return response(Report({}))
        with timed(root.metrics, "ApplyLatency"):
            report = root.applier.apply([message(r) for r in records])
        root.observer.observe(records, report)
        return response(report)

    return traced(handler, root.function, root.tracing)


def message(record: dict[str, Any]) -> Message:
    group = (record.get("attributes") or {}).get("MessageGroupId")
    return Message(record["messageId"], record["body"], group)


def response(report: Report) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": m} for m in report.failures]}
