"""Chaos: the shop under `queuefirst dev` loses nothing while its parts fail.

Thousands of commands (QUEUEFIRST_CHAOS_COMMANDS; `make chaos` sends 5,000
or more, `make test` a smaller run) go in over HTTP and straight to the
queues, with duplicates and deliberate reorderings (an order shipped before
it is paid), while worker runtimes are SIGKILLed at random moments and
PostgreSQL is stopped and started once mid-run. A few poison messages (a
product the database refuses, on purpose) end in their dead-letter queue.

At the end: every accepted command is applied or rejected with its reason,
except the poison ones, which are dead letters; after fixing the cause and
redriving them, the visible state (rows and stock) equals the reference model
replaying each entity's commands in the order its worker logged them, and the
shop's invariants hold (no stock below zero, no live row under a deleted
parent but the records the policy keeps, every item's price its product's at
its reservation, no item left pending, every order counting its items right).
The counts are printed.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import psutil
import psycopg
import pytest

from queuefirst.local import EmbeddedPostgres, scratch_postgres
from queuefirst.model.command import Command, Status
from queuefirst.model.names import queue_name
from queuefirst.runtime.sender import batch_entry
from queuefirst.store.database import conninfo
from tests.chaos.workload import Workload
from tests.e2e.conftest import RunningStack, start_stack, stop_stack
from tests.shop.model import Model
from tests.shop.test_property import check_invariants

COMMANDS = int(os.environ.get("QUEUEFIRST_CHAOS_COMMANDS", "600"))
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(max(1800, COMMANDS))]
POISON = 3


@pytest.fixture
def database() -> Iterator[EmbeddedPostgres]:
    """A server of the test's own, to stop and start mid-run."""
    with scratch_postgres("queuefirst-chaos-pg-") as server:
        yield server


def kill_runtimes(stack: RunningStack, stop: threading.Event, rng: random.Random, killed: list[int]) -> None:
    """SIGKILL one worker runtime (`python -m awslambdaric`, not the emulator around it)
    every 0.5 to 2 s: a batch in flight dies part-way, as in a Lambda sandbox."""
    while not stop.wait(rng.uniform(0.5, 2.0)):
        children = psutil.Process(stack.process.pid).children(recursive=True)
        workers = [p for p in children if _is_worker_runtime(p)]
        if workers:
            victim = rng.choice(workers)
            with contextlib.suppress(psutil.NoSuchProcess):
                victim.send_signal(signal.SIGKILL)
                killed.append(victim.pid)


def _is_worker_runtime(process: psutil.Process) -> bool:
    try:
        command = process.cmdline()
        function = process.environ().get("AWS_LAMBDA_FUNCTION_NAME", "")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return command[1:3] == ["-m", "awslambdaric"] and function.endswith("-worker")


class Producers:
    """Sends commands over HTTP (the api stamps them) or straight to the queues (as another producer)."""

    def __init__(self, stack: RunningStack) -> None:
        state = stack.state
        self.stack = stack
        self.sqs = boto3.client(
            "sqs",
            endpoint_url=state["sqs_endpoint_url"],
            region_name=state["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        self.urls: dict[str, str] = {}
        self.lock = threading.Lock()

    def straight(self, command: Command) -> None:
        if command.entity not in self.urls:
            self.urls[command.entity] = self.sqs.get_queue_url(QueueName=queue_name("shop", command.entity))[
                "QueueUrl"
            ]
        entry = batch_entry(0, command)
        entry.pop("Id")
        self.sqs.send_message(QueueUrl=self.urls[command.entity], **entry)


def test_nothing_is_lost_while_runtimes_die_and_the_database_restarts(
    rie_path: str, database: EmbeddedPostgres, shop: Any
) -> None:
    rng = random.Random(int(os.environ.get("QUEUEFIRST_CHAOS_SEED", "7")))
    workload = Workload(rng, COMMANDS, poison=POISON, registry=shop)
    stack = start_stack(rie_path, "--visibility-timeout", "3", app="shop", DATABASE_URL=database.url)
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=kill_runtimes, args=(stack, stop, rng, killed))
    try:
        producers = Producers(stack)
        conn = psycopg.connect(**conninfo(database.url), autocommit=True)
        conn.execute("ALTER TABLE products ADD CONSTRAINT chaos_poison CHECK (name <> 'poison')")
        conn.close()
        killer.start()
        try:
            sent = workload.send(producers, restart=lambda: _restart(database))
        except AssertionError as error:
            raise AssertionError(f"{error}\n{_products(database.url)}") from None
        stop.set()
        killer.join()
        statuses, unsettled = _wait_settled(database.url, sent, workload.poison_ids, timeout=600)
        assert unsettled == workload.poison_ids, _explain(stack, sent, unsettled - workload.poison_ids)
        stack.eventually(
            lambda: _dead_letters(stack, "products") == POISON, timeout=180, what="the poison dead-lettered"
        )
        assert all(_dead_letters(stack, e) == 0 for e in ("customers", "orders", "order_items"))
        with psycopg.connect(**conninfo(database.url), autocommit=True) as fix:
            fix.execute("ALTER TABLE products DROP CONSTRAINT chaos_poison")  # the cause, fixed
        assert stack.cli("dlq", "redrive", "products").returncode == 0
        statuses, unsettled = _wait_settled(database.url, sent, set(), timeout=300)
        assert unsettled == set()
        stack.eventually(lambda: _quiet(producers), timeout=300, what="every queue drained")
        model = Model(shop)
        logged, outboxes = _logs(database.url, shop)
        workload.replay(model, logged, outboxes)
        rows = _rows(database.url, shop)
        expected_rows = {name: table for name, table in _model_rows(model).items() if table}
        assert rows == expected_rows, _differences(database.url, rows, expected_rows, workload)
        assert {k: v for k, v in _keyed_statuses(database.url).items() if k in model.status} == model.status
        check_invariants(rows, model)
        mine = [statuses[cid] for cid in sent]
        asked = len(statuses) - len(sent)
        print(
            f"\nchaos: {len(sent)} commands accepted ({workload.over_http} over HTTP, the rest "
            f"straight to the queues), {workload.duplicates} of them sent twice: "
            f"{mine.count(Status.APPLIED)} applied, {mine.count(Status.REJECTED)} rejected with their "
            f"reasons, 0 lost; {asked} more asked by the workers, all settled; "
            f"{len(workload.poison_ids)} poison dead-lettered, then applied after redrive; "
            f"{len(killed)} runtimes SIGKILLed; PostgreSQL restarted once"
        )
    finally:
        stop.set()
        if killer.is_alive():
            killer.join()
        stop_stack(stack)


def _products(url: str) -> str:
    """The products' rows and every command their worker took, in the order it took them."""
    with psycopg.connect(**conninfo(url)) as conn:
        rows = conn.execute("SELECT id, stock, alive FROM products ORDER BY id").fetchall()
        log = conn.execute("SELECT key, op, status, reason FROM products__commands ORDER BY seq").fetchall()
    return f"products: {rows}\nproducts' commands: {log}"


def _explain(stack: RunningStack, sent: dict[str, str], unsettled: set[str]) -> str:
    """Why commands never settled: each one's entity, and every entity's dead letters with reasons."""
    lines = [f"{len(unsettled)} accepted commands neither applied nor rejected:"]
    lines += [f"  {cid} ({sent[cid]})" for cid in sorted(unsettled)]
    for entity in sorted({sent[cid] for cid in unsettled}):
        lines.append(f"dead letters of {entity}:")
        lines.append(stack.cli("dlq", "show", entity).stdout)
    return "\n".join(lines)


def _differences(url: str, rows: dict[str, Any], expected: dict[str, Any], workload: Workload) -> str:
    """The rows that differ from the model's (the first ten): both states, the commands
    sent for the row in their order, and what its worker did with each, in its order."""
    sent: dict[tuple[str, str], list[str]] = {}
    for command in workload.accepted:
        sent.setdefault((command.entity, command.key), []).append(f"{command.op}:{command.command_id}")
    lines = []
    with psycopg.connect(**conninfo(url)) as conn:
        for entity in sorted(set(rows) | set(expected)):
            mine, model = rows.get(entity, {}), expected.get(entity, {})
            for key in sorted(set(mine) | set(model)):
                if mine.get(key) == model.get(key) or len(lines) >= 10:
                    continue
                query = f"SELECT op, command_id, status, reason FROM {entity}__commands WHERE key = %s"
                log = conn.execute(query + " ORDER BY seq", [key]).fetchall()  # type: ignore[call-overload]
                lines.append(
                    f"{entity} {key}:\n  stored {mine.get(key)}\n  model  {model.get(key)}\n"
                    f"  sent   {sent.get((entity, key))}\n  taken  {log}"
                )
    return "rows differ from the model:\n" + "\n".join(lines)


def _dead_letters(stack: RunningStack, entity: str) -> int:
    listed = stack.cli("dlq", "ls").stdout.split()
    return int(listed[listed.index(entity) + 1])


def _restart(database: EmbeddedPostgres) -> None:
    database.stop()
    time.sleep(1)
    database.start()


def _wait_settled(
    url: str, sent: dict[str, str], parked: set[str], timeout: float
) -> tuple[dict[str, str], set[str]]:
    """Until every accepted command but the parked ones has a status; (statuses, ids without one)."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = _statuses(url)
        missing = {cid for cid in sent if cid not in statuses}
        if missing <= parked or time.monotonic() > deadline:
            return statuses, missing
        time.sleep(1)


def _statuses(url: str) -> dict[str, str]:
    found: dict[str, str] = {}
    with contextlib.suppress(psycopg.OperationalError), psycopg.connect(**conninfo(url)) as conn:
        for entity in ("customers", "orders", "order_items", "products"):
            rows = conn.execute(f"SELECT command_id, status FROM {entity}__commands").fetchall()  # type: ignore[call-overload]
            found |= {str(cid): status for cid, status in rows}
    return found


def _quiet(producers: Producers) -> bool:
    """No message waiting or in flight in any entity's queue."""
    for entity in ("customers", "orders", "order_items", "products"):
        url = producers.sqs.get_queue_url(QueueName=queue_name("shop", entity))["QueueUrl"]
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        counts = producers.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]  # type: ignore[arg-type]
        if any(int(counts[name]) for name in names):
            return False
    return True


def _logs(url: str, registry: Any) -> tuple[dict[str, list[str]], list[Command]]:
    """Each entity's command ids in the order its worker took them, and everything they sent."""
    logged: dict[str, list[str]] = {}
    sent: list[Command] = []
    with psycopg.connect(**conninfo(url)) as conn:
        for name in registry:
            rows = conn.execute(f'SELECT command_id, outbox FROM "{name}__commands" ORDER BY seq').fetchall()  # type: ignore[call-overload]
            logged[name] = [str(command_id) for command_id, _ in rows]
            sent += [Command.model_validate(c) for _, outbox in rows for c in outbox or []]
    return logged, sent


def _keyed_statuses(url: str) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    with psycopg.connect(**conninfo(url)) as conn:
        for entity in ("customers", "orders", "order_items", "products"):
            rows = conn.execute(f"SELECT command_id, status FROM {entity}__commands").fetchall()  # type: ignore[call-overload]
            found |= {(entity, str(cid)): status for cid, status in rows}
    return found


def _rows(url: str, registry: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with psycopg.connect(**conninfo(url)) as conn:
        for name, entity in registry.items():
            cursor = conn.execute(f'SELECT * FROM "{name}"')  # type: ignore[call-overload]
            names = [c.name for c in cursor.description or []]
            for record in cursor.fetchall():
                values = dict(zip(names, record, strict=True))
                parent = values.get(entity.parent_field) if entity.parent_field else None
                out.setdefault(name, {})[values["id"]] = (
                    parent,
                    values["alive"],
                    {f: values[f] for f in entity.field_names},
                )
    return out


def _model_rows(model: Model) -> dict[str, Any]:
    return {
        name: {key: (row.parent, row.alive, row.fields) for key, row in table.items()}
        for name, table in model.rows.items()
    }
