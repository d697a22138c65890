"""Applying one SQS batch: lane by lane, exactly once, in one transaction, then the asks.

A batch holds messages of several lanes (FIFO message groups), each lane's in
the order the queue took them. The worker applies every lane's commands in
that order in one transaction: the log of applied commands is read first,
so a redelivered command changes nothing (it only re-sends the asks its log
entry kept); each new command's effect and its log entry commit together.

A failure a retry can fix (the database or a queue unavailable, a deadlock,
a malformed or poison message an operator can fix and redrive) fails that
message and every later message of its lane in the batch, so SQS hands them
back in the same order. A rejection is an answer, not a failure: recorded
with its reason, the message done. A poison command the database refuses is
isolated: each lane in its own savepoint, then each command of the failing
lane, so everything before it still applies.

Asks are sent after the commit, in lane order; a message whose asks could
not all be sent fails (with the rest of its lane), and its redelivery re-sends
them from the log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import Connection, errors

from queuefirst.model.command import CREATE, DUPLICATE, Command, Scope
from queuefirst.model.decider import DecideError, Decider
from queuefirst.model.entity import Entity
from queuefirst.runtime.sender import CommandSender, SendError
from queuefirst.store.database import Database
from queuefirst.store.entity_store import EntityStore, LogEntry
from queuefirst.worker.decode import Malformed, decode

ATTEMPTS = 3  # deadlocks and races between invocations: the transaction runs again at once


@dataclass(frozen=True)
class Message:
    message_id: str
    body: str
    group: str | None = None  # the FIFO message group, when the queue said


@dataclass(frozen=True)
class Done:
    """The command is settled: applied, rejected with its reason, or a duplicate."""

    command: Command
    status: str
    reason: str | None = None
    asks: tuple[Command, ...] = ()


@dataclass(frozen=True)
class Failed:
    """The message goes back to the queue (and, after enough tries, to its dead letters)."""

    reason: str
    command: Command | None = None


Outcome = Done | Failed


@dataclass
class Report:
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    @property
    def failures(self) -> dict[str, str]:
        return {m: o.reason for m, o in self.outcomes.items() if isinstance(o, Failed)}


@dataclass
class _Lane:
    items: list[tuple[Message, Command]] = field(default_factory=list)


class BatchApplier:
    def __init__(self, entity: Entity, database: Database, sender: CommandSender) -> None:
        self.entity = entity
        self.database = database
        self.sender = sender
        self.store = EntityStore(entity)
        self.decider = Decider(entity)

    def apply(self, messages: Sequence[Message]) -> Report:
        report = Report()
        lanes = self._decode(messages, report)
        if lanes:
            try:
                report.outcomes |= self._transact(lanes)
            except psycopg.OperationalError as error:
                reason = f"database unavailable: {type(error).__name__}: {_first_line(error)}"
                for lane in lanes.values():
                    for message, command in lane.items:
                        report.outcomes[message.message_id] = Failed(reason, command)
            self._send_asks(lanes, report)
        report.outcomes = {m.message_id: report.outcomes[m.message_id] for m in messages}
        return report

    # -- decoding ---------------------------------------------------------------------

    def _decode(self, messages: Sequence[Message], report: Report) -> dict[str, _Lane]:
        lanes: dict[str, _Lane] = {}
        held: set[str] = set()
        for message in messages:
            lane_id = message.group or message.message_id
            if lane_id in held:
                report.outcomes[message.message_id] = Failed(_HELD_BACK)
                continue
            try:
                command = decode(self.entity, message.body)
                if message.group is not None and command.lane != message.group:
                    raise Malformed(
                        f"travels in message group {message.group}, but its lane is {command.lane}"
                    )
            except Malformed as error:
                report.outcomes[message.message_id] = Failed(str(error))
                held.add(lane_id)
                continue
            lanes.setdefault(lane_id, _Lane()).items.append((message, command))
        return lanes

    # -- the transaction --------------------------------------------------------------

    def _transact(self, lanes: dict[str, _Lane]) -> dict[str, Outcome]:
        """The batch in one pipelined transaction (two round trips: read, then write and
        commit); when the database refuses a command, again, one lane at a time."""
        everything = list(lanes.values())
        for attempt in range(1, ATTEMPTS + 1):
            try:
                try:
                    with self.database.transaction(pipelined=True) as conn:
                        return self._run(conn, everything)
                except (psycopg.DataError, psycopg.ProgrammingError, psycopg.IntegrityError) as error:
                    if _retryable(error):
                        raise
                with self.database.transaction() as conn:
                    return self._isolate(conn, everything)
            except (errors.TransactionRollback, errors.UniqueViolation):
                # A deadlock, or another invocation applying the same command or
                # creating the same row: run again, and see what it committed.
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _run(self, conn: Connection[Any], lanes: list[_Lane]) -> dict[str, Outcome]:
        commands = [command for lane in lanes for _, command in lane.items]
        seen, working = self.store.load(conn, {c.command_id for c in commands}, *_reads(commands))
        outcomes: dict[str, Outcome] = {}
        entries: list[LogEntry] = []
        applied_now: set[uuid.UUID] = set()
        for lane in lanes:
            failed = False
            for message, command in lane.items:
                if failed:
                    outcomes[message.message_id] = Failed(_HELD_BACK, command)
                elif command.command_id in seen:
                    outcomes[message.message_id] = Done(
                        command, DUPLICATE, asks=tuple(seen[command.command_id])
                    )
                elif command.command_id in applied_now:
                    outcomes[message.message_id] = Done(command, DUPLICATE)
                else:
                    try:
                        applied = self.decider.apply(working, command)
                    except DecideError as error:
                        outcomes[message.message_id] = Failed(str(error), command)
                        failed = True
                        continue
                    applied_now.add(command.command_id)
                    outcomes[message.message_id] = Done(
                        command, applied.status, applied.reason, tuple(applied.asks)
                    )
                    entries += [
                        LogEntry(e.command, e.status, e.reason, e.cause, applied.asks if i == 0 else None)
                        for i, e in enumerate(applied.entries)
                    ]
        self.store.save(conn, working, entries)
        return outcomes

    def _isolate(self, conn: Connection[Any], lanes: list[_Lane]) -> dict[str, Outcome]:
        """One savepoint per lane; in a lane the database refuses, one per command."""
        outcomes: dict[str, Outcome] = {}
        for lane in lanes:
            try:
                with conn.transaction():
                    outcomes |= self._run(conn, [lane])
                continue
            except (psycopg.DataError, psycopg.ProgrammingError, psycopg.IntegrityError) as error:
                if _retryable(error):
                    raise
            for index, (message, command) in enumerate(lane.items):
                try:
                    with conn.transaction():
                        outcomes |= self._run(conn, [_Lane([(message, command)])])
                except (psycopg.DataError, psycopg.ProgrammingError, psycopg.IntegrityError) as error:
                    if _retryable(error):
                        raise
                    outcomes[message.message_id] = Failed(
                        f"database refused the command: {_first_line(error)}", command
                    )
                    for later, later_command in lane.items[index + 1 :]:
                        outcomes[later.message_id] = Failed(_HELD_BACK, later_command)
                    break
        return outcomes

    # -- asks ---------------------------------------------------------------------------

    def _send_asks(self, lanes: dict[str, _Lane], report: Report) -> None:
        for lane in lanes.values():
            blocked = False
            for message, _ in lane.items:
                outcome = report.outcomes[message.message_id]
                if blocked:
                    report.outcomes[message.message_id] = Failed(_HELD_BACK, _command_of(outcome))
                    continue
                if not isinstance(outcome, Done):
                    blocked = True
                    continue
                if not outcome.asks:
                    continue
                try:
                    self.sender.send(outcome.asks)
                except SendError as error:
                    report.outcomes[message.message_id] = Failed(f"asks not sent: {error}", outcome.command)
                    blocked = True
                except Exception as error:  # the queue unreachable, throttled, refused
                    reason = f"asks not sent: {type(error).__name__}: {error}"
                    report.outcomes[message.message_id] = Failed(reason, outcome.command)
                    blocked = True


_HELD_BACK = "held back: an earlier command of its lane failed in this batch"
_RETRYABLE_STATES = (errors.UniqueViolation,)


def _retryable(error: Exception) -> bool:
    return isinstance(error, _RETRYABLE_STATES)


def _reads(commands: list[Command]) -> tuple[set[str], set[str], set[str]]:
    """Keys to load, parents whose rows to load, parents whose markers to load."""
    keys = {c.key for c in commands if c.scope is Scope.ROW}
    parents = {c.key for c in commands if c.scope is Scope.CHILDREN}
    creating = {c.parent for c in commands if c.op == CREATE and c.parent is not None}
    return keys, parents, parents | creating


def _command_of(outcome: Outcome) -> Command | None:
    return outcome.command


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
