"""The whole local stack against its own SQS server's pace, measured in one run.

Starts `queuefirst dev` (the shop) as a user does, then:

1. shallow SQS, 8 threads on a FIFO queue of the same server that stays near
   empty, each message sent, received and deleted: one message per call (as
   the api sends a command: one per request), and ten per call (as a burst
   is sent and the pollers drain it): messages/s;
2. sustained: 8 HTTP clients creating products for a while: commands/s from
   the first POST to the last row visible, and POST -> 202 p50/p99;
3. burst: 10,000 creates sent straight to the products queue at once, then
   drained by the workers: commands/s until the last row is applied.

The sustained rate is reported against the one-per-call shallow rate, the
burst against the ten-per-call one (goal: at least half of it). Run:
`python bench/e2e_local.py [--seconds 20] [--burst 10000]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record

from queuefirst.local import LocalIssuer, free_port
from queuefirst.model.command import Command
from queuefirst.model.names import queue_name
from queuefirst.model.principal import OPERATORS
from queuefirst.runtime.sender import batch_entry
from queuefirst.store.database import conninfo

CLIENTS = 8
PRODUCT = {"sku": "SKU-1", "name": "Tea", "price_minor": 450, "currency": "EUR"}


def start_stack(home: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, Any]]:
    port = free_port()
    env = {**os.environ, "QUEUEFIRST_HOME": str(home), "QUEUEFIRST_APPLICATION": "shop"}
    log = open(home / "stack.log", "wb")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen(
        [sys.executable, "-m", "queuefirst.ops.cli", "dev", "--port", str(port), "--no-table"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.monotonic() + 180
    while not (home / "dev.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"queuefirst dev did not start:\n{(home / 'stack.log').read_text()}")
        time.sleep(0.2)
    return process, f"http://127.0.0.1:{port}", json.loads((home / "dev.json").read_text())


def sqs(state: dict[str, Any]) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=state["sqs_endpoint_url"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def shallow_rate(state: dict[str, Any], seconds: float, per_call: int) -> float:
    """Messages/s through send, receive and delete, `per_call` messages per call."""
    client = sqs(state)
    url = client.create_queue(
        QueueName=f"bench-shallow-{per_call}.fifo",
        Attributes={
            "FifoQueue": "true",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )["QueueUrl"]
    done = [0] * CLIENTS

    def run(index: int) -> None:
        own = sqs(state)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": "x" * 400,
                    "MessageGroupId": f"{index}-{i}",
                    "MessageDeduplicationId": str(uuid.uuid4()),
                }
                for i in range(per_call)
            ]
            if per_call == 1:
                entry = entries[0]
                del entry["Id"]
                own.send_message(QueueUrl=url, **entry)
            else:
                own.send_message_batch(QueueUrl=url, Entries=entries)
            got = own.receive_message(QueueUrl=url, MaxNumberOfMessages=per_call).get("Messages", [])
            if per_call == 1 and got:
                own.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
            elif got:
                own.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
                )
            done[index] += len(got)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


# An operator's token: products are the operators' to write (set in main).
TOKEN: list[str] = []


def post(base: str, path: str, body: dict[str, Any]) -> tuple[int, float]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", "authorization": f"Bearer {TOKEN[0]}"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, (time.perf_counter() - started) * 1000


def applied(state: dict[str, Any], prefix: str) -> int:
    with psycopg.connect(**conninfo(state["database_url"])) as conn:
        row = conn.execute("SELECT count(*) FROM products WHERE id LIKE %s", [prefix + "%"]).fetchone()
    return int(row[0]) if row else 0


def wait_applied(state: dict[str, Any], prefix: str, count: int, timeout: float = 900) -> float:
    deadline = time.monotonic() + timeout
    while applied(state, prefix) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {applied(state, prefix)} of {count} applied after {timeout}s")
        time.sleep(0.1)
    return time.monotonic()


def sustained(base: str, state: dict[str, Any], seconds: float) -> tuple[float, float, float]:
    prefix = f"s{uuid.uuid4().hex[:6]}-"
    latencies: list[float] = []
    sent = [0] * CLIENTS

    def run(index: int) -> None:
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            status, ms = post(base, "/products", {"id": f"{prefix}{index}-{n}", **PRODUCT})
            assert status == 202, status
            latencies.append(ms)
            n += 1
        sent[index] = n

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = wait_applied(state, prefix, sum(sent))
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return sum(sent) / (finished - started), statistics.median(ordered), p99


def burst(state: dict[str, Any], count: int) -> float:
    prefix = f"b{uuid.uuid4().hex[:6]}-"
    client = sqs(state)
    url = client.get_queue_url(QueueName=queue_name("shop", "products"))["QueueUrl"]
    commands = [
        Command(
            command_id=uuid.uuid4(),
            entity="products",
            op="create",
            key=f"{prefix}{n}",
            version=n + 1,
            payload=PRODUCT,
        )
        for n in range(count)
    ]
    started = time.monotonic()
    for start in range(0, count, 10):
        client.send_message_batch(
            QueueUrl=url, Entries=[batch_entry(i, c) for i, c in enumerate(commands[start : start + 10])]
        )
    finished = wait_applied(state, prefix, count)
    return count / (finished - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--write", action="store_true", help="record the table in bench/results/latest.md")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="qf-bench-e2e-"))
    home.chmod(0o755)
    process, base, state = start_stack(home)
    TOKEN.append(LocalIssuer(home, "shop").mint(OPERATORS, "bench", expires_in=3 * 3600))
    try:
        single = shallow_rate(state, args.seconds, per_call=1)
        batched = shallow_rate(state, args.seconds, per_call=10)
        rate, p50, p99 = sustained(base, state, args.seconds)
        drained = burst(state, args.burst)
    finally:
        process.send_signal(2)
        process.wait(timeout=60)
        shutil.rmtree(home, ignore_errors=True)
    lines = [
        "| figure | measured | vs shallow SQS (goal >= 0.5x) |",
        "|---|---|---|",
        f"| shallow SQS, {CLIENTS} threads, send + receive + delete one message per call "
        f"| {single:,.0f} messages/s | 1.00x |",
        f"| shallow SQS, {CLIENTS} threads, ten messages per call | {batched:,.0f} messages/s | 1.00x |",
        f"| sustained, {CLIENTS} clients: POST to row visible | {rate:,.0f} commands/s "
        f"| {rate / single:.2f}x of one per call ({rate / batched:.2f}x of ten) |",
        f"| POST -> 202 | p50 {p50:.1f} ms, p99 {p99:.1f} ms | |",
        f"| burst of {args.burst:,} sent at once, ten per call: drained | {drained:,.0f} commands/s "
        f"| {drained / batched:.2f}x of ten per call |",
    ]
    print("\n".join(lines))
    if args.write:
        record("e2e_local", "\n".join(lines))


if __name__ == "__main__":
    main()
