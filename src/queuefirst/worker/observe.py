"""What a worker says about each batch: a structured log line per message, EMF metrics per batch.

Telemetry reads the clock (a message's age); nothing it computes feeds a decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from queuefirst.model.command import Status
from queuefirst.runtime.telemetry import count_per_version, message_age_ms
from queuefirst.worker.lanes import Failed, Report

COUNTERS = {
    Status.APPLIED: "CommandsApplied",
    Status.REJECTED: "CommandsRejected",
    Status.DUPLICATE: "CommandsDuplicate",
}
FAILED_METRIC = "CommandsFailed"


@dataclass(frozen=True)
class BatchObserver:
    logger: Logger
    metrics: Metrics
    function: str
    version: str

    def observe(self, records: list[dict[str, Any]], report: Report) -> None:
        counts = dict.fromkeys([*COUNTERS.values(), FAILED_METRIC], 0)
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
                self.logger.set_correlation_id(str(command.command_id))
            if isinstance(outcome, Failed):
                counts[FAILED_METRIC] += 1
                self.logger.warning("command failed", extra={**keys, "reason": outcome.reason})
            else:
                counts[COUNTERS[outcome.status]] += 1
                reason = {"reason": outcome.reason} if outcome.reason else {}
                self.logger.info("command done", extra={**keys, "outcome": outcome.status, **reason})
            age = message_age_ms(attributes.get("SentTimestamp"))
            if age is not None:
                self.metrics.add_metric(name="MessageAge", unit=MetricUnit.Milliseconds, value=age)
        self.logger.set_correlation_id(None)
        for name, count in counts.items():
            if count:
                self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
        if counts[FAILED_METRIC]:
            # What a canary judges a version by, beside Lambda's errors per ExecutedVersion.
            count_per_version(
                FAILED_METRIC, counts[FAILED_METRIC], function=self.function, version=self.version
            )
