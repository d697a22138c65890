"""The local SQS server (moto's, with `queuefirst.local.servers.sqs_speedups`) keeps SQS's FIFO promises.

The lanes of the whole design rest on one: a message group is handed to one
receiver at a time, its messages in order. Real receivers, real threads, the
real server over HTTP.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import boto3

from tests.fifo_lanes import back_from_flight

GROUPS = 4
PER_GROUP = 40
RECEIVERS = 8


def fifo_queue(client: Any) -> str:
    url: str = client.create_queue(
        QueueName=f"lanes-{uuid.uuid4().hex[:8]}.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"},
    )["QueueUrl"]
    return url


def test_a_message_group_goes_to_one_receiver_at_a_time_in_order(sqs_endpoint: str) -> None:
    client = boto3.client("sqs", endpoint_url=sqs_endpoint, region_name="us-east-1")
    url = fifo_queue(client)
    for n in range(PER_GROUP):
        client.send_message_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": str(g),
                    "MessageBody": f"{g}:{n}",
                    "MessageGroupId": f"g{g}",
                    "MessageDeduplicationId": f"{g}-{n}",
                }
                for g in range(GROUPS)
            ],
        )
    holding: dict[str, int] = {}  # group -> receivers holding some of its messages now
    overlaps: list[str] = []
    order: dict[str, list[int]] = {f"g{g}": [] for g in range(GROUPS)}
    lock = threading.Lock()

    def receive() -> None:
        own = boto3.client("sqs", endpoint_url=sqs_endpoint, region_name="us-east-1")
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 2:
            got = own.receive_message(
                QueueUrl=url, MaxNumberOfMessages=3, WaitTimeSeconds=1, AttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                continue
            quiet_since = time.monotonic()
            groups = {m["Attributes"]["MessageGroupId"] for m in got}
            with lock:
                for group in groups:
                    if holding.get(group):
                        overlaps.append(group)
                    holding[group] = holding.get(group, 0) + 1
                for message in got:
                    group, n = message["Body"].split(":")
                    order[f"g{group}"].append(int(n))
            time.sleep(0.01)  # "processing", while other receivers ask for more
            with lock:
                for group in groups:
                    holding[group] -= 1
            own.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
            )

    threads = [threading.Thread(target=receive) for _ in range(RECEIVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [], f"groups handed to two receivers at once: {sorted(set(overlaps))}"
    assert order == {f"g{g}": list(range(PER_GROUP)) for g in range(GROUPS)}


def test_messages_back_from_flight_are_delivered_in_their_group_order(sqs_endpoint: str) -> None:
    """Receivers that fail a batch (never delete it) send it back after the visibility
    timeout, several messages of a group at once: they return in order, before the rest.

    Asserts what SQS promises (`tests/fifo_lanes.py`), no more: a receiver that
    stalls past the one-second timeout may process a message twice."""
    outcome = back_from_flight(sqs_endpoint)
    assert outcome.problems() == []


def test_a_group_back_from_flight_is_received_from_its_head_whenever_the_receive_runs() -> None:
    """Issue 24's reordering, made reproducible: the server's own receive at 80 instants
    around the moment three messages of a group come back from flight, on a clock that
    advances at each read (a slow server). Each receive gets the group from its head or
    nothing, never a later message first. The fake is time alone (`tests/sqs_fake_clock.py`)."""
    command = [sys.executable, "-m", "tests.sqs_fake_clock"]
    run = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    seen = json.loads(run.stdout)
    assert all(s["first"] == ["m0", "m1", "m2"] for s in seen)
    seconds = [s["second"] for s in seen]
    assert [] in seconds and [f"m{n}" for n in range(6)] in seconds  # the sweep crosses the deadline
    assert [s for s in seconds if s not in ([], [f"m{n}" for n in range(6)])] == []
