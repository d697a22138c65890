"""Applying one SQS batch: one transaction, poison isolation, then the children.

The batch is applied in one transaction. If that fails on a record the
database refuses (a poison record), each record is retried alone in its own
savepoint so the others still apply. If the database cannot be reached at
all, every record fails and nothing is half-applied. Child commands are sent
only after the commit; a record whose children could not be sent fails, so
SQS redelivers it, and the redelivery (a duplicate) re-sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from queuefirst.model.command import Command
from queuefirst.model.entity import Entity
from queuefirst.runtime.sender import CommandSender, SendError
from queuefirst.store.writer import EntityWriter, Outcome, Result
from queuefirst.worker.decode import CommandRejected, decode


@dataclass(frozen=True)
class Message:
    message_id: str
    body: str


@dataclass
class Report:
    """Per message: the outcome, or the reason it failed."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)

    def fail(self, message_id: str, reason: str) -> None:
        self.failures[message_id] = reason
        self.outcomes.pop(message_id, None)


class BatchApplier:
    def __init__(self, entity: Entity, engine: Engine, writer: EntityWriter, sender: CommandSender) -> None:
        self.entity = entity
        self.engine = engine
        self.writer = writer
        self.sender = sender

    def apply(self, messages: Sequence[Message]) -> Report:
        report = Report()
        decoded: dict[str, Command] = {}
        for message in messages:
            try:
                decoded[message.message_id] = decode(self.entity, message.body)
            except CommandRejected as error:
                report.fail(message.message_id, str(error))
        report.commands.update(decoded)
        if not decoded:
            return report
        try:
            results = self._apply_with_retries(decoded)
        except (OperationalError, InterfaceError, PoolTimeout) as error:
            for message_id in decoded:
                report.fail(
                    message_id,
                    f"database unavailable: {type(getattr(error, 'orig', None) or error).__name__}",
                )
            return report
        for message_id, result in results.items():
            if isinstance(result, str):
                report.fail(message_id, result)
            elif result.outcome is Outcome.REJECTED:
                report.fail(message_id, result.reason or "rejected")
            else:
                report.outcomes[message_id] = result.outcome
        self._send_children(results, report)
        return report

    def _apply_with_retries(self, decoded: dict[str, Command]) -> dict[str, Result | str]:
        # Two invocations of one worker can deadlock (PostgreSQL then aborts
        # one); the whole transaction is safe to run again at once.
        for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
            try:
                return self._apply_in_transaction(decoded)
            except OperationalError as error:
                if attempt == DEADLOCK_ATTEMPTS or _sqlstate(error) not in RETRYABLE_SQLSTATES:
                    raise
        raise AssertionError("unreachable")

    def _apply_in_transaction(self, decoded: dict[str, Command]) -> dict[str, Result | str]:
        with self.engine.begin() as conn:
            try:
                with conn.begin_nested():
                    results = self.writer.apply(conn, list(decoded.values()))
                return dict(zip(decoded, results, strict=True))
            except (OperationalError, InterfaceError):
                raise
            except DBAPIError:
                return self._isolate(conn, decoded)

    def _isolate(self, conn: Connection, decoded: dict[str, Command]) -> dict[str, Result | str]:
        # One savepoint per record: the poison ones roll back alone.
        outcome: dict[str, Result | str] = {}
        for message_id, command in decoded.items():
            try:
                with conn.begin_nested():
                    outcome[message_id] = self.writer.apply(conn, [command])[0]
            except (OperationalError, InterfaceError):
                raise
            except DBAPIError as error:
                outcome[message_id] = f"database refused the command: {_first_line(error.orig)}"
        return outcome

    def _send_children(self, results: dict[str, Result | str], report: Report) -> None:
        for message_id, result in results.items():
            if isinstance(result, str) or not result.children or message_id in report.failures:
                continue
            try:
                self.sender.send(result.children)
            except SendError as error:
                report.fail(message_id, f"children not sent: {error}")
            except Exception as error:
                report.fail(message_id, f"children not sent: {type(error).__name__}: {error}")


DEADLOCK_ATTEMPTS = 3
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


def _sqlstate(error: OperationalError) -> str | None:
    return getattr(getattr(error.orig, "diag", None), "sqlstate", None) or getattr(
        error.orig, "sqlstate", None
    )


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if error else "unknown error"
