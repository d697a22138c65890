"""Applying one SQS batch: decode, apply, send, each phase lane by lane (`queuefirst.worker.lanes`).

A batch holds messages of several lanes (FIFO message groups), each lane's in
the order the queue took them.

1. Decode: a message this worker can never apply (malformed, for another
   entity, in the wrong lane) fails, and cuts its lane.
2. Apply: every lane's commands, in order, in one transaction. The log of
   applied commands is read first, so a redelivered command changes nothing
   (it only re-sends the asks its log entry kept); each new command's effect,
   its log entry and the reasons of the messages that failed commit together.
   A rejection is an answer, not a failure: recorded with its reason, the
   message done. A decide function that breaks its contract fails its
   message. When the database refuses a command (poison), the transaction
   runs again lane by lane in savepoints, then command by command in the
   refused lane, so everything before the poison still applies. A conflict
   with another invocation (a deadlock, a row or a command it wrote meanwhile)
   runs the transaction again; the database unavailable fails the batch.
3. Send: each applied command's asks, after the commit, in lane order; a
   message whose asks could not all be sent fails, and its redelivery
   re-sends them from the log.

Whatever fails cuts its lane, and every later message of the lane fails with
it, so SQS hands them back in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from queuefirst.model.command import Status
from queuefirst.model.decider import DecideError, Decider
from queuefirst.model.entity import Entity
from queuefirst.model.errors import SendError, StoreConflict, StoreRefused, StoreUnavailable
from queuefirst.model.log import LogEntry
from queuefirst.runtime.sender import CommandSender
from queuefirst.store.port import BatchStore, BatchUnit, FailureRecord, Reads
from queuefirst.worker.decode import Malformed, decode
from queuefirst.worker.lanes import Done, Failed, Item, Lane, Message, Report, failing, into_lanes

ATTEMPTS = 3  # conflicts between invocations: the transaction runs again at once

__all__ = ["ATTEMPTS", "BatchApplier", "Done", "Failed", "Message", "Report"]


class BatchApplier:
    def __init__(self, entity: Entity, store: BatchStore, sender: CommandSender) -> None:
        self.entity = entity
        self.store = store
        self.sender = sender
        self.decider = Decider(entity)

    def apply(self, messages: Sequence[Message]) -> Report:
        lanes = self._decode(into_lanes(messages))
        applied = self._apply(lanes)
        self._send(applied)
        return Report.of(messages, applied)

    # -- 1. decode ----------------------------------------------------------------------

    def _decode(self, lanes: list[Lane]) -> list[Lane]:
        for lane in lanes:
            for index, item in lane.open():
                try:
                    command = decode(self.entity, item.message.body)
                    group = item.message.group
                    if group is not None and command.lane != group:
                        raise Malformed(f"travels in message group {group}, but its lane is {command.lane}")
                except Malformed as error:
                    lane.fail(index, str(error))
                    break
                lane.items[index] = Item(item.message, command)
        return lanes

    # -- 2. apply -----------------------------------------------------------------------

    def _apply(self, lanes: list[Lane]) -> list[Lane]:
        """The lanes as the committed transaction left them (or all failing, if none did)."""
        if not any(lane.commands for lane in lanes):
            return self._record_failures_alone(lanes)
        conflict: StoreConflict | None = None
        for _ in range(ATTEMPTS):
            try:
                return self._transact(lanes)
            except StoreConflict as error:
                conflict = error  # another invocation got in the way: run again, and see what it committed
            except StoreUnavailable as error:
                return failing(lanes, f"database unavailable: {error}")
        return failing(lanes, f"database conflict {ATTEMPTS} times running: {conflict}")

    def _transact(self, lanes: list[Lane]) -> list[Lane]:
        try:
            with self.store.unit(pipelined=True) as unit:
                return self._committing(unit, self._run(unit, lanes))
        except StoreRefused:
            pass  # a poison command somewhere: find it, lane by lane, then command by command
        with self.store.unit() as unit:
            return self._committing(unit, [self._isolated(unit, lane) for lane in lanes])

    def _isolated(self, unit: BatchUnit, lane: Lane) -> Lane:
        try:
            with unit.savepoint():
                return self._run(unit, [lane])[0]
        except StoreRefused:
            pass
        found = lane.copy()
        for index, _ in list(found.open()):
            try:
                with unit.savepoint():
                    (alone,) = self._run(unit, [found.part(index)])
            except StoreRefused as error:
                found.fail(index, f"database refused the command: {error}")
                break
            outcome = alone.outcome(0)
            if isinstance(outcome, Failed):
                found.fail(index, outcome.reason)
                break
            found.settle(index, outcome)
        return found

    def _run(self, unit: BatchUnit, lanes: Sequence[Lane]) -> list[Lane]:
        """Decide every open command of `lanes` on rows loaded in `unit`, and save the result."""
        out = [lane.copy() for lane in lanes]
        seen, working = unit.load(Reads.of(c for lane in out for c in lane.commands))
        entries: list[LogEntry] = []
        applied_now: dict[uuid.UUID, Status] = {}

        def status_of(command_id: uuid.UUID) -> Status | None:
            return seen[command_id][0] if command_id in seen else applied_now.get(command_id)

        for lane in out:
            for index, item in list(lane.open()):
                command = item.command
                assert command is not None  # decoded: the lane is cut before anything that is not
                if command.command_id in seen:
                    lane.settle(index, Done(command, Status.DUPLICATE, asks=seen[command.command_id][1]))
                    continue
                if command.command_id in applied_now:  # twice in one batch
                    lane.settle(index, Done(command, Status.DUPLICATE))
                    continue
                try:
                    applied = self.decider.apply(working, command, status_of)
                except DecideError as error:
                    lane.fail(index, str(error))
                    break
                logged = applied.log()
                applied_now |= {entry.command.command_id: entry.status for entry in logged}
                lane.settle(index, Done(command, applied.status, applied.reason, tuple(applied.sends)))
                entries += logged
        unit.save(working, entries)
        return out

    def _committing(self, unit: BatchUnit, lanes: list[Lane]) -> list[Lane]:
        """Why each failed message failed, written in the batch's own transaction."""
        unit.record_failures(_failure_records(lanes))
        return lanes

    def _record_failures_alone(self, lanes: list[Lane]) -> list[Lane]:
        # Nothing to apply (every message malformed): the reasons still deserve a record.
        try:
            with self.store.unit() as unit:
                return self._committing(unit, lanes)
        except (StoreUnavailable, StoreConflict, StoreRefused):
            return lanes  # the handler's log line is the record

    # -- 3. send ------------------------------------------------------------------------

    def _send(self, lanes: list[Lane]) -> None:
        late: list[FailureRecord] = []
        for lane in lanes:
            for index, _ in list(lane.open()):
                outcome = lane.outcomes[index]
                if not (isinstance(outcome, Done) and outcome.asks):
                    continue
                try:
                    self.sender.send(outcome.asks)
                except SendError as error:
                    committed_cut = lane.cut if lane.cut is not None else len(lane.items)
                    lane.fail(index, f"asks not sent: {error}")
                    # What the transaction recorded as done fails now: this one, and its lane after it.
                    late += _failure_records([lane], between=(index, committed_cut))
                    break
        if late:
            self._record_late_failures(late)

    def _record_late_failures(self, records: list[FailureRecord]) -> None:
        """After the commit, in a transaction of their own: best effort (the log line stays)."""
        try:
            with self.store.unit() as unit:
                unit.record_failures(records)
        except (StoreUnavailable, StoreConflict, StoreRefused):
            pass


def _failure_records(lanes: Sequence[Lane], between: tuple[int, int] | None = None) -> list[FailureRecord]:
    """The failed messages of `lanes` (only items `between` these places, if given)."""
    records = []
    for lane in lanes:
        start, end = between or (0, len(lane.items))
        for index in range(start, end):
            outcome = lane.outcome(index)
            if isinstance(outcome, Failed):
                command_id = str(outcome.command.command_id) if outcome.command else None
                records.append(
                    FailureRecord(lane.items[index].message.message_id, command_id, outcome.reason)
                )
    return records
