"""An SQS event source, as Lambda's event source mapping runs one.

Per worker: up to `maximum_concurrency` pollers (bounded by the local pool),
each receiving up to `batch_size` messages from the entity's FIFO queue,
invoking the function once per batch and deleting only what succeeded:
everything on a partial batch response but the listed failures, nothing on a
function error. What is not deleted comes back after the visibility timeout,
in its message group's order, and the queue's redrive policy moves it to the
dead-letter queue after `maxReceiveCount` receives, as on AWS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from queuefirst.local.eventsource.records import sqs_event
from queuefirst.local.runtimes.instance import Invocation
from queuefirst.local.runtimes.pool import RuntimePool
from queuefirst.local.runtimes.stats import Stats
from queuefirst.local.servers.queues import EntityQueues
from queuefirst.model.entity import Entity
from queuefirst.model.limits import SQS_BATCH_LIMIT

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class EventSourcePoller:
    def __init__(
        self,
        entity: Entity,
        queues: EntityQueues,
        client: SQSClient,
        pool: RuntimePool,
        stats: Stats,
        report: Callable[[Invocation, int], None],
        region: str,
        log: Callable[[str], None] = print,
    ) -> None:
        self.entity = entity
        self.queues = queues
        self.client = client
        self.pool = pool
        self.stats = stats
        self.report = report
        self.region = region
        self.log = log
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        # The event source mapping's knobs, from the entity's module; the admin console
        # changes them while the stack runs (`resize`), as UpdateEventSourceMapping does.
        self.batch_size = entity.scaling.batch_size
        self.concurrency = max(1, entity.scaling.maximum_concurrency)
        self._lock = threading.Lock()
        # The oldest message's age when a batch was last received (0 once the queue is empty).
        self.oldest_age_seconds: float | None = None

    def start(self) -> EventSourcePoller:
        self.resize(self.concurrency, self.batch_size)
        return self

    def resize(self, concurrency: int, batch_size: int) -> None:
        """Run `concurrency` polling threads from now on: more start at once, and the ones
        beyond it finish the batch they hold and stop (a thread's index is its place)."""
        with self._lock:
            self.batch_size = batch_size
            self.concurrency = max(0, concurrency)  # 0: paused (a reserved concurrency of 0)
            self.threads = [t for t in self.threads if t.is_alive()]
            running = {int(t.name.rsplit("-", 1)[1]) for t in self.threads}
            for index in range(self.concurrency):
                if index in running:
                    continue
                thread = threading.Thread(
                    target=self._run, args=(index,), name=f"poller-{self.entity.name}-{index}", daemon=True
                )
                thread.start()
                self.threads.append(thread)

    @property
    def running(self) -> int:
        """Polling threads at work now (a lowered concurrency takes effect as batches end)."""
        with self._lock:
            return sum(
                1 for t in self.threads if t.is_alive() and int(t.name.rsplit("-", 1)[1]) < self.concurrency
            )

    def stop(self) -> None:
        self.stop_event.set()
        # An invocation in flight may run to its timeout; wait that long.
        with self._lock:
            threads = list(self.threads)
        for thread in threads:
            thread.join(timeout=self.pool.spec.timeout_seconds + 15)

    def _run(self, index: int = 0) -> None:
        while not self.stop_event.is_set() and index < self.concurrency:
            try:
                messages = self._receive_batch()
                if messages:
                    self._deliver(messages)
            except Exception as error:
                # A poller outlives any one failure, but never silently: SQS keeps
                # the messages, so nothing is lost while it waits and retries.
                self.log(f"{self.entity.name} poller: {type(error).__name__}: {error}; retrying in 1 s")
                self.stop_event.wait(1)

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Long-poll for up to a batch (FIFO queues allow ten, and no batching window).

        The queue hands out a message group's messages only once the ones in
        flight are deleted or back, so no lane is ever in two batches at once.
        """
        messages: list[Any] = self.client.receive_message(
            QueueUrl=self.queues.url,
            MaxNumberOfMessages=min(SQS_BATCH_LIMIT, self.batch_size),
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        sent = [int(m.get("Attributes", {}).get("SentTimestamp", 0)) for m in messages]
        if sent:
            self.oldest_age_seconds = max(0.0, time.time() - min(sent) / 1000)
        return messages

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = sqs_event(messages, arn=self.queues.arn, region=self.region)
        result = self.pool.invoke(event)
        self.stats.record(self.pool.spec.name, result.duration_ms, result.ok)
        self.report(result, len(messages))
        if not result.ok:
            return  # a function error deletes nothing: the whole batch comes back
        failed = _reported_failures(result.payload, {m["MessageId"] for m in messages})
        if failed is None:
            self.report(
                Invocation(
                    result.function,
                    False,
                    result.duration_ms,
                    result.payload,
                    "invalid partial batch response: the whole batch fails",
                ),
                len(messages),
            )
            return  # as Lambda does with an identifier it cannot match
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_BATCH_LIMIT):
            chunk = done[start : start + SQS_BATCH_LIMIT]
            response = self.client.delete_message_batch(
                QueueUrl=self.queues.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                # Not lost: the message becomes visible again and is redelivered.
                self.report(
                    Invocation(
                        result.function,
                        False,
                        0.0,
                        None,
                        f"delete failed, will be redelivered: {failure.get('Message')}",
                    ),
                    1,
                )


def _reported_failures(payload: Any, message_ids: set[str]) -> set[str] | None:
    """The ids a partial batch response lists, or None when it is malformed."""
    if payload is None:
        return set()
    if not isinstance(payload, dict):
        return None
    items = payload.get("batchItemFailures")
    if items is None:
        return set()  # absent or null: complete success, as AWS reads it
    if not isinstance(items, list):
        return None
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return None
        failed.add(identifier)
    return failed
