"""ReceiveMessage for the local SQS server, keeping SQS's FIFO promises under any timing.

SQS promises, per message group: no message of a group is delivered while an
earlier one is in flight, and a message whose visibility timeout ends is back
at the head of its group before any later message can be received.

moto's own receive broke that on a busy machine (issue 24). It reads the
clock once per message, and it counts a group as held by the messages that
were in flight when it started, freeing the group mid-scan when it meets one
of them visible again. Messages received together get visibility deadlines a
millisecond or more apart (a clock read each), so a scan that starts just
before the last of them expires skips the group's earlier messages (the group
still held) and, reaching the last one, frees the group and hands it and the
messages after it out: `8, 9, 10` skipped, `11..14` delivered, `8..10` later.

Here a receive chooses at one instant: messages whose deadline has passed
leave flight first, the groups still in flight are held for the whole scan,
and every message one receive hands out gets the same deadline, as on AWS.
Receives of a queue take turns, as SQS hands a group to one receiver at a time.
"""

from __future__ import annotations

import threading
import time
from copy import deepcopy
from typing import Any

from moto.core.utils import unix_time_millis
from moto.sqs.models import Message, Queue, _filter_message_attributes

# Long enough to cost nothing while idle; short, so a receive waiting for a group
# held in flight sees its visibility timeout end soon after it does.
_LONGEST_NAP_SECONDS = 0.2


def receive(
    queue: Queue, count: int, wait_seconds: float, visibility_timeout: int, attribute_names: list[str]
) -> list[Message]:
    """Up to `count` messages, waiting up to `wait_seconds` for one (a long poll)."""
    turn: threading.Lock = queue.__dict__.setdefault("_receive_turn", threading.Lock())
    deadline = time.monotonic() + wait_seconds
    while True:
        # The turn orders receives; the messages lock keeps sends, deletes and
        # visibility changes out of the queue while a receive chooses.
        with turn, queue._messages_lock:
            chosen = choose(queue, unix_time_millis(), count, visibility_timeout, attribute_names)
        left = deadline - time.monotonic()
        if chosen or left <= 0:
            return chosen
        with queue._messages_lock:
            # Woken by a send or a delete; the timeout catches visibility ending.
            queue._messages_lock.wait(timeout=min(left, _LONGEST_NAP_SECONDS))


def choose(
    queue: Queue, now: float, count: int, visibility_timeout: int, attribute_names: list[str]
) -> list[Message]:
    """The messages one receive at `now` (epoch milliseconds) hands out, marked received;
    copies, as moto's responses expect. The caller holds the queue's messages lock."""
    pending: set[Message] = queue.pending_messages
    for message in [m for m in pending if now > m.visible_at]:
        pending.discard(message)  # back from flight: at the head of its group again
    fifo = bool(queue.fifo_queue)
    held = {m.group_id for m in pending} if fifo else set()
    redrive = queue.redrive_policy if queue.dead_letter_queue is not None else None
    retention_ms = int(queue.message_retention_period) * 1000  # type: ignore[attr-defined]
    chosen: list[Message] = []
    dead: list[Message] = []
    gone: list[Message] = []
    for message in queue._messages:
        if fifo and message.group_id in held:
            continue  # a message of its group is in flight, or waits its turn
        if message in pending or not (now > message.visible_at and now >= message.delayed_until):
            if fifo:
                held.add(message.group_id)  # delayed: the group's later messages wait too
            continue
        if (message.sent_timestamp or 0) + retention_ms <= now:
            gone.append(message)  # past the retention period: SQS deletes it
            continue
        if redrive and message.approximate_receive_count >= redrive["maxReceiveCount"]:
            dead.append(message)  # its group's next message may go out in this receive
            continue
        pending.add(message)
        message.mark_received(visibility_timeout=visibility_timeout)
        if visibility_timeout:
            message.visible_at = now + int(visibility_timeout) * 1000  # one deadline per receive
        copy = deepcopy(message)  # moto's: attributes filtered on the copy, not the message
        _filter_message_attributes(copy, attribute_names)
        chosen.append(copy)
        if len(chosen) >= count:
            break
    if dead or gone:
        doomed = {id(m) for m in dead + gone}
        queue._messages = [m for m in queue._messages if id(m) not in doomed]
        for message in dead:
            queue.dead_letter_queue.add_message(message)  # type: ignore[union-attr]
    return chosen


def change_visibility(original: Any) -> Any:
    """moto's ChangeMessageVisibility, under the queue's messages lock: it takes a message
    out of flight, which must not happen while a receive walks the messages in flight."""

    def change_message_visibility(
        backend: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        with backend.get_queue(queue_name)._messages_lock:
            original(backend, queue_name, receipt_handle, visibility_timeout)

    return change_message_visibility
