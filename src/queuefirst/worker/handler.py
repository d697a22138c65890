"""The worker's Lambda entrypoint: parse the SQS event, apply, report.

Powertools' batch processor turns the per-record outcomes of the batch into
the partial batch response, so SQS deletes only the records that succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from queuefirst.model.entity import Entity
from queuefirst.runtime.telemetry import message_age_ms, timed
from queuefirst.store.schema import StoreSchema
from queuefirst.store.writer import Outcome
from queuefirst.worker.batch import BatchApplier, Message, Report


class RecordFailed(Exception):
    """Raised for Powertools so it reports the record as a batch item failure."""


@dataclass
class WorkerRoot:
    """Everything a warm worker reuses between invocations."""

    entity: Entity
    engine: Engine
    schema: StoreSchema
    applier: BatchApplier
    logger: Logger
    metrics: Metrics


_COUNTERS = {
    Outcome.APPLIED: "CommandsApplied",
    Outcome.SUPERSEDED: "CommandsSuperseded",
    Outcome.DUPLICATE: "CommandsDuplicate",
}


def make_handler(root: WorkerRoot) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    @root.metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        records = [SQSRecord(r) for r in event.get("Records", [])]
        if not records:
            return {"batchItemFailures": []}
        with timed(root.metrics, "ApplyLatency"):
            report = root.applier.apply([Message(r.message_id, r.body) for r in records])
        _observe(root, records, report)

        def record_handler(record: SQSRecord) -> None:
            reason = report.failures.get(record.message_id)
            if reason is not None:
                raise RecordFailed(reason)

        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        return dict(response)

    return handler


def _observe(root: WorkerRoot, records: list[SQSRecord], report: Report) -> None:
    for record in records:
        command = report.commands.get(record.message_id)
        keys: dict[str, Any] = {
            "message_id": record.message_id,
            "receive_count": record.attributes.approximate_receive_count,
        }
        if command is not None:
            keys |= {"command_id": str(command.command_id), "op": command.op.value, "key": command.key}
            root.logger.set_correlation_id(str(command.command_id))
        reason = report.failures.get(record.message_id)
        if reason is not None:
            root.logger.warning("command failed", extra={**keys, "reason": reason})
        else:
            root.logger.info(
                "command done", extra={**keys, "outcome": report.outcomes[record.message_id].value}
            )
        age = message_age_ms(record.attributes.sent_timestamp)
        if age is not None:
            root.metrics.add_metric(name="MessageAge", unit=MetricUnit.Milliseconds, value=age)
    root.logger.set_correlation_id(None)
    for outcome, name in _COUNTERS.items():
        count = sum(1 for o in report.outcomes.values() if o is outcome)
        if count:
            root.metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    if report.failures:
        root.metrics.add_metric(name="CommandsRejected", unit=MetricUnit.Count, value=len(report.failures))
        _record_failures(root, report)


def _record_failures(root: WorkerRoot, report: Report) -> None:
    # Kept so `queuefirst dlq show` can say why each dead letter failed. Best
    # effort: when the database is what failed, the log line is the record.
    rows = [
        {
            "message_id": message_id,
            "entity": root.entity.name,
            "reason": reason[:2000],
            "command_id": str(report.commands[message_id].command_id)
            if message_id in report.commands
            else None,
        }
        for message_id, reason in report.failures.items()
    ]
    try:
        with root.engine.begin() as conn:
            conn.execute(root.schema.failures.insert(), rows)
    except SQLAlchemyError as error:
        root.logger.warning("failure reasons not recorded", extra={"error": type(error).__name__})
