"""moto's SQS server without its queue-depth cliff.

moto 5.2.5 recomputes every queue attribute, three of them by scanning every
message with a clock read each, several times per message sent, and scans
the whole queue once per receipt handle deleted. With a thousand messages
queued that is about 350 ms per call and ten messages a second. These
patches keep moto's behaviour and API and change only how it finds things:
attributes computed when asked for, one clock read per scan, deletes found
by their receipt handle, and FIFO deduplication by a table of recent ids (which, as
on AWS and unlike moto, also remembers ids of messages already deleted).

Fixes of behaviour, of FIFO order, which the lanes of the whole design rest
on: moto's receive is replaced by `sqs_receive`'s (receives of a queue take
turns and choose at one instant, so a group is handed to one receiver at a
time and a message back from flight is at the head of its group; a receive
waiting for a blocked group wakes when a delete frees it instead of
spinning); and FIFO messages get sequence numbers that increase within their
queue, as SQS's do within their group (moto draws them at random).

They are applied in the local SQS server's own process only
(`python -m queuefirst.local.servers.sqs_server`), and only to the moto version they
were written against.
"""

from __future__ import annotations

import json
import secrets
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

from moto.core.utils import camelcase_to_underscores, unix_time_millis
from moto.sqs import models as sqs_models
from moto.sqs import utils as sqs_utils
from moto.sqs.models import DEDUPLICATION_TIME_IN_SECONDS, Message, Queue, SQSBackend

from queuefirst.local.servers import sqs_receive

PATCHED_VERSION = "5.2.5"


class _Attributes(Mapping[str, Any]):
    """`Queue.attributes`, each value computed on access (the counts scan the queue)."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    def _names(self) -> list[str]:
        queue = self.queue
        names = list(queue.BASE_ATTRIBUTES)
        names += list(queue.FIFO_ATTRIBUTES) if queue.fifo_queue else []
        names += list(queue.KMS_ATTRIBUTES) if queue.kms_master_key_id else []  # type: ignore[attr-defined]
        return names

    def __getitem__(self, name: str) -> Any:
        if name not in self._names():
            raise KeyError(name)
        if name == "RedrivePolicy" and self.queue.redrive_policy:
            return json.dumps(self.queue.redrive_policy)
        value = getattr(self.queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def _visible_messages(queue: Queue) -> list[Message]:
    now = unix_time_millis()
    return [m for m in queue._messages if m.visible_at < now and now >= m.delayed_until]


def _add_message(queue: Queue, message: Message, original: Any) -> None:
    if not queue.fifo_queue or queue.lambda_event_source_mappings:
        original(queue, message)
        return
    message.sequence_number = _next_sequence_number(queue)
    if message.deduplication_id:
        recent: dict[tuple[str | None, str], float] = queue.__dict__.setdefault(
            "_recent_deduplication_ids", {}
        )
        now = float(message.sent_timestamp)  # type: ignore[arg-type]
        window = DEDUPLICATION_TIME_IN_SECONDS * 1000
        for key in [k for k, sent in recent.items() if now - sent >= window] if len(recent) > 10_000 else []:
            del recent[key]
        per_group = queue.deduplication_scope == "messageGroup"  # type: ignore[attr-defined]
        key = (message.group_id if per_group else None, message.deduplication_id)
        if key in recent and now - recent[key] < window:
            return  # a duplicate within five minutes: accepted, never delivered
        recent[key] = now
    with queue._messages_lock:
        queue._messages.append(message)
        queue._messages_lock.notify_all()


def _next_sequence_number(queue: Queue) -> str:
    """SQS's SequenceNumber: 20 digits, larger for each message sent to the queue
    (SQS promises larger within a group; one counter per queue gives that)."""
    with queue._messages_lock:
        sequence: int = queue.__dict__.get("_last_sequence_number", 18_000_000_000_000_000_000) + 1
        queue.__dict__["_last_sequence_number"] = sequence
    return str(sequence)


# Every receipt handle a message was ever given -> the message (weakly, so deleted
# messages go away): deleting by handle is a lookup, not a scan of the queue.
_BY_RECEIPT: weakref.WeakValueDictionary[str, Message] = weakref.WeakValueDictionary()


def _mark_received(message: Message, visibility_timeout: int | None, original: Any) -> None:
    original(message, visibility_timeout)
    _BY_RECEIPT[message.receipt_handle] = message  # type: ignore[index]


def _delete(queue: Queue, receipt_handles: set[str]) -> set[str]:
    """Delete the messages holding any of these receipt handles; the handles found."""
    found: set[str] = set()
    doomed: dict[int, Message] = {}
    for handle in receipt_handles:
        message = _BY_RECEIPT.get(handle)
        if message is None or id(message) in doomed:
            continue
        found.add(handle)
        doomed[id(message)] = message
        queue.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
    if doomed:
        # Under the lock sends append with: a message sent while the list is rebuilt
        # would otherwise be lost (moto's own delete has that race); and a receive
        # walks the messages in flight under it.
        with queue._messages_lock:
            for message in doomed.values():
                queue.pending_messages.discard(message)
            queue._messages = [m for m in queue._messages if id(m) not in doomed]
            queue._messages_lock.notify_all()  # a FIFO group may be free again
    return found


def _receipt_handle() -> str:
    # As long as moto's (185 characters), without one random draw per character.
    return secrets.token_urlsafe(139)[:185]


def _patch(owner: object, name: str, value: object) -> None:
    setattr(owner, name, value)  # the one place that reaches into moto


def apply() -> None:
    from importlib.metadata import version

    installed = version("moto")
    if installed != PATCHED_VERSION:
        raise RuntimeError(f"queuefirst's SQS speedups are for moto {PATCHED_VERSION}, not {installed}")
    original_add = Queue.add_message
    original_mark_received = Message.mark_received
    original_change_visibility = SQSBackend.change_message_visibility

    def receive_message(
        backend: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Message]:
        queue = backend.get_queue(queue_name)
        return sqs_receive.receive(
            queue, count, wait_seconds_timeout, visibility_timeout, message_attribute_names or []
        )

    def add_message(queue: Queue, message: Message) -> None:
        _add_message(queue, message, original_add)

    def mark_received(message: Message, visibility_timeout: int | None = None) -> None:
        _mark_received(message, visibility_timeout, original_mark_received)

    def delete_message(queue: Queue, receipt_handle: str) -> None:
        if receipt_handle in queue.deleted_messages:
            return  # deleting twice is fine, as on AWS
        if not _delete(queue, {receipt_handle}):
            from moto.sqs.exceptions import ReceiptHandleIsInvalid

            raise ReceiptHandleIsInvalid()

    def delete_message_batch(
        backend: SQSBackend, queue_name: str, receipts: list[dict[str, Any]]
    ) -> tuple[list[str], list[dict[str, Any]]]:
        queue = backend.get_queue(queue_name)
        given = {r["ReceiptHandle"] for r in receipts}
        earlier = {h for h in given if h in queue.deleted_messages}  # deleted before: fine
        found = _delete(queue, given - earlier) | earlier
        success = [r["Id"] for r in receipts if r["ReceiptHandle"] in found]
        errors = [
            {
                "Id": r["Id"],
                "SenderFault": True,
                "Code": "ReceiptHandleIsInvalid",
                "Message": f'The input receipt handle "{r["ReceiptHandle"]}" is not a valid receipt handle.',
            }
            for r in receipts
            if r["ReceiptHandle"] not in found
        ]
        return success, errors

    _patch(Queue, "attributes", property(_Attributes))
    _patch(Queue, "messages", property(_visible_messages))
    _patch(Queue, "add_message", add_message)
    _patch(Queue, "delete_message", delete_message)
    _patch(Message, "mark_received", mark_received)
    _patch(SQSBackend, "delete_message_batch", delete_message_batch)
    _patch(SQSBackend, "receive_message", receive_message)
    _patch(SQSBackend, "change_message_visibility", sqs_receive.change_visibility(original_change_visibility))
    _patch(sqs_utils, "generate_receipt_handle", _receipt_handle)
    _patch(sqs_models, "generate_receipt_handle", _receipt_handle)
