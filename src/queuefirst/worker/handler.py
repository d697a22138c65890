"""The worker's Lambda entrypoint: parse the SQS event, apply the batch, report.

The partial batch response lists exactly the messages that failed (for a FIFO
queue, also the later messages of a failed message's lane), so SQS deletes
what is settled and hands the rest back in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from queuefirst.model.command import APPLIED, DUPLICATE, REJECTED
from queuefirst.model.entity import Entity
from queuefirst.runtime.telemetry import count_per_version, message_age_ms, timed, traced
from queuefirst.store.database import Database
from queuefirst.store.entity_store import EntityStore
from queuefirst.store.revision import SchemaGuard, is_probe
from queuefirst.worker.batch import BatchApplier, Done, Failed, Message, Report


@dataclass
class WorkerRoot:
    """Everything a warm worker reuses between invocations."""

    entity: Entity
    database: Database
    applier: BatchApplier
    logger: Logger
    metrics: Metrics
    guard: SchemaGuard
    function: str
    version: str
    tracing: bool = False


_COUNTERS = {APPLIED: "CommandsApplied", REJECTED: "CommandsRejected", DUPLICATE: "CommandsDuplicate"}
FAILED_METRIC = "CommandsFailed"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def make_handler(root: WorkerRoot) -> Handler:
    @root.metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if is_probe(event):
            # A deploy asks a new version, before any traffic, what it needs and finds.
            return root.guard.answer(root.database.connection(), root.version)
        records = event.get("Records", [])
        if not records:
            return {"batchItemFailures": []}
        messages = [
            Message(r["messageId"], r["body"], (r.get("attributes") or {}).get("MessageGroupId"))
            for r in records
        ]
        with timed(root.metrics, "ApplyLatency"):
            report = root.applier.apply(messages)
        _observe(root, records, report)
        return {"batchItemFailures": [{"itemIdentifier": m} for m in report.failures]}

    return traced(handler, root.function, root.tracing)


def _observe(root: WorkerRoot, records: list[dict[str, Any]], report: Report) -> None:
    counts = dict.fromkeys([*_COUNTERS.values(), FAILED_METRIC], 0)
    for record in records:
        attributes = record.get("attributes") or {}
        outcome = report.outcomes[record["messageId"]]
        keys: dict[str, Any] = {
            "message_id": record["messageId"],
            "receive_count": attributes.get("ApproximateReceiveCount"),
        }
        if outcome.command is not None:
            command = outcome.command
            keys |= {"command_id": str(command.command_id), "op": command.op, "key": command.key}
            root.logger.set_correlation_id(str(command.command_id))
        if isinstance(outcome, Failed):
            counts[FAILED_METRIC] += 1
            root.logger.warning("command failed", extra={**keys, "reason": outcome.reason})
        else:
            counts[_COUNTERS[outcome.status]] += 1
            extra = {**keys, "outcome": outcome.status} | (
                {"reason": outcome.reason} if outcome.reason else {}
            )
            root.logger.info("command done", extra=extra)
        age = message_age_ms(attributes.get("SentTimestamp"))
        if age is not None:
            root.metrics.add_metric(name="MessageAge", unit=MetricUnit.Milliseconds, value=age)
    root.logger.set_correlation_id(None)
    for name, count in counts.items():
        if count:
            root.metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    if counts[FAILED_METRIC]:
        # What a canary judges a version by, beside Lambda's errors per ExecutedVersion.
        count_per_version(FAILED_METRIC, counts[FAILED_METRIC], function=root.function, version=root.version)
    if report.failures:
        _record_failures(root, report)


def _record_failures(root: WorkerRoot, report: Report) -> None:
    # Kept so `queuefirst dlq show` and the console can say why each dead letter
    # failed. Best effort: when the database is what failed, the log line is the record.
    rows = [
        (message_id, str(outcome.command.command_id) if outcome.command else None, outcome.reason[:2000])
        for message_id, outcome in report.outcomes.items()
        if isinstance(outcome, Failed)
    ]
    try:
        with root.database.transaction() as conn:
            EntityStore(root.entity).record_failures(conn, rows)
    except psycopg.Error as error:
        root.logger.warning(
            "failure reasons not recorded", extra={"error": f"{type(error).__name__}: {error}".strip()}
        )


__all__ = ["Done", "Failed", "WorkerRoot", "make_handler"]
