"""A FIFO queue's message groups under receivers that fail batches, checked against
what SQS promises and nothing more (shared by the integration test and the stress run).

SQS promises, per message group: a receive hands out a group's messages only
from its head, in order, and only once every earlier message of the group is
deleted; a message whose visibility timeout ends is back at the head of its
group before any later message can be received. It does not promise
exactly-once processing: a receiver that stalls past the visibility timeout
(a descheduled thread on a busy machine) may process a batch that another
receiver already took back, so a message may be processed twice, and that
is no fault of the queue.

From the receivers' side these promises mean: each receive gives, per group,
consecutive messages whose predecessors all had a delete requested before the
answer arrived (a delete the server applied was sent before it chose), and
the first time each message is processed follows the group's order.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import boto3

GROUPS = 4
PER_GROUP = 20
RECEIVERS = 8
FAILED_BATCHES = 0.25  # the share of batches a receiver fails (never deletes)


@dataclass
class Outcome:
    """What the receivers saw: processing order per group, and broken promises."""

    processed: dict[str, list[int]] = field(default_factory=lambda: {f"g{g}": [] for g in range(GROUPS)})
    violations: list[str] = field(default_factory=list)
    receives: int = 0

    def first_processing(self) -> dict[str, list[int]]:
        return {g: list(dict.fromkeys(seen)) for g, seen in self.processed.items()}

    def duplicates(self) -> int:
        return sum(len(seen) - len(set(seen)) for seen in self.processed.values())

    def problems(self) -> list[str]:
        """Every way the run broke what SQS promises; empty when it kept them all."""
        want = list(range(PER_GROUP))
        out = list(self.violations)
        for group, first in self.first_processing().items():
            if first != want:
                out.append(f"{group} first processed as {first}")
        return out


def back_from_flight(endpoint: str, seed: int = 0) -> Outcome:
    """One run: producers send each group's messages in order while receivers take
    batches of up to ten and fail a quarter of them, which come back after the
    queue's one-second visibility timeout, several messages of a group at once."""
    client = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    url = client.create_queue(
        QueueName=f"back-{uuid.uuid4().hex[:8]}.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "1"},
    )["QueueUrl"]
    outcome = Outcome()
    delete_requested: dict[str, set[int]] = {g: set() for g in outcome.processed}
    lock = threading.Lock()

    def produce(group: int) -> None:
        for n in range(PER_GROUP):
            client.send_message(
                QueueUrl=url,
                MessageBody=f"g{group}:{n}",
                MessageGroupId=f"g{group}",
                MessageDeduplicationId=str(uuid.uuid4()),
            )
            time.sleep(0.01)

    def check(batch: list[tuple[str, int]]) -> None:
        """The promises one receive's answer must keep (called under the lock)."""
        by_group: dict[str, list[int]] = {}
        for group, n in batch:
            by_group.setdefault(group, []).append(n)
        for group, got in by_group.items():
            if got != list(range(got[0], got[0] + len(got))):
                outcome.violations.append(f"{group}: one receive gave {got}, not consecutive")
            missing = sorted(set(range(got[0])) - delete_requested[group])
            if missing:
                outcome.violations.append(f"{group}: {got} received while {missing} were not deleted")

    def all_processed() -> bool:
        with lock:
            return all(len(set(seen)) == PER_GROUP for seen in outcome.processed.values())

    def consume(receiver: int) -> None:
        own = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
        rng = random.Random(seed * RECEIVERS + receiver)
        while not all_processed():
            got = own.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            batch = [(m["Body"].split(":")[0], int(m["Body"].split(":")[1])) for m in got]
            with lock:
                outcome.receives += 1
                check(batch)
            if not got or rng.random() < FAILED_BATCHES:
                continue  # a failed batch: back after the visibility timeout
            with lock:
                for group, n in batch:
                    outcome.processed[group].append(n)
                    delete_requested[group].add(n)
            own.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
            )

    threads = [threading.Thread(target=produce, args=(g,)) for g in range(GROUPS)]
    threads += [threading.Thread(target=consume, args=(r,)) for r in range(RECEIVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    client.delete_queue(QueueUrl=url)
    return outcome
