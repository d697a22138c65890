"""How fast a worker applies batches, against the database's own pace, measured in one run.

Four workloads, batches of ten commands on the shop's real tables in a fresh
embedded PostgreSQL: creates (new products), mixed (creates, partial updates
and deletes of customers), purges (customers' cascades reaching three orders
each) and actions (restocks of existing products). Each runs three ways:

- project: the worker's own `BatchApplier` (decode, exactly-once log, lane
  order, decide, one transaction per batch); asks are collected, not sent;
- naive: one SQLAlchemy ORM session per command, merge and commit;
- raw: hand-written SQL, one multi-row statement per kind per batch and one
  commit, with no log, no ordering, no validation: the database's pace.

Prints rows/s and the ratios; `--write` appends the table to bench/results/latest.md.
Run: `python bench/worker_apply.py [--batches 150]`.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.ext.automap import automap_base
from sqlalchemy.orm import Session

from queuefirst.local import scratch_postgres
from queuefirst.model.command import Command, Scope
from queuefirst.runtime.sender import CommandSender
from queuefirst.schema.upgrade import upgrade
from queuefirst.store.database import Database
from queuefirst.store.entity_store import EntityStore
from queuefirst.worker.batch import BatchApplier, Message
from shop import application as shop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record

BATCH = 10
Batch = list[Command]


class Collect(CommandSender):
    def __init__(self) -> None:
        self.sent = 0

    def send(self, commands: Any) -> None:
        self.sent += len(commands)


class Maker:
    """Commands for one workload, with fresh keys each run."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.version = 1_000

    def command(
        self, entity: str, op: str, key: str, payload: dict[str, Any] | None = None, **extra: Any
    ) -> Command:
        self.version += 1
        return Command(
            command_id=uuid.uuid4(),
            entity=entity,
            op=op,
            key=key,
            version=self.version,
            payload=payload or {},
            **extra,
        )

    def product(self, n: int) -> Command:
        return self.command(
            "products",
            "create",
            f"{self.run}-p{n}",
            {"sku": "SKU-1", "name": "Tea", "price_minor": 450, "currency": "EUR"},
        )

    def customer(self, n: int) -> Command:
        return self.command(
            "customers", "create", f"{self.run}-c{n}", {"email": "a@example.com", "name": "Ann"}
        )


Workload = tuple[list[tuple[str, list[Batch]]], str, list[Batch]]


def workloads(run: str, batches: int) -> dict[str, Workload]:
    """name -> (setup: (entity, batches) applied the project's way first, entity, measured batches)."""
    m = Maker(run)
    products = [[m.product(b * BATCH + i) for i in range(BATCH)] for b in range(batches)]
    customers = [[m.customer(b * BATCH + i) for i in range(BATCH)] for b in range(batches)]
    mixed = []
    for b in range(batches):
        base = b * BATCH
        batch = [
            m.command("customers", "create", f"{run}-m{base + i}", {"email": "b@example.com", "name": "Bo"})
            for i in range(4)
        ]
        batch += [m.command("customers", "update", f"{run}-c{base + i}", {"name": "Cy"}) for i in range(4)]
        batch += [m.command("customers", "delete", f"{run}-c{base + 8 + i}") for i in range(2)]
        mixed.append(batch)

    def order(b: int, i: int) -> Command:
        parent = f"{run}-c{b}-{i // 3}"
        return m.command(
            "orders", "create", f"{run}-o{b}-{i}", {"customer_id": parent, "currency": "EUR"}, parent=parent
        )

    orders = [[order(b, i) for i in range(BATCH)] for b in range(batches)]
    purges = [
        [m.command("orders", "delete", f"{run}-c{b}-{i}", scope=Scope.CHILDREN) for i in range(4)]
        for b in range(batches)
    ]
    restocks = [
        [m.command("products", "restock", c.key, {"quantity": 5}) for c in batch] for batch in products
    ]
    return {
        "creates": ([], "products", products),
        "mixed": ([("customers", customers)], "customers", mixed),
        "purges": ([("orders", orders)], "orders", purges),
        "actions": ([("products", products)], "products", restocks),
    }


# -- the three ways -------------------------------------------------------------------------


def project(url: str) -> Callable[[str, list[Any]], None]:
    database = Database(url)
    appliers = {
        name: BatchApplier(entity, EntityStore(entity, database), Collect())
        for name, entity in shop.registry(rules=True).items()
    }

    def apply(entity: str, batches: list[Any]) -> None:
        for batch in batches:
            report = appliers[entity].apply(batch)
            assert not report.failures, report.failures

    return apply


def as_messages(batches: list[Batch]) -> list[list[Message]]:
    """What an SQS event carries: bodies as text (serialised before the clock starts)."""
    return [[Message(str(i), c.to_json(), c.lane) for i, c in enumerate(batch)] for batch in batches]


def naive(url: str) -> Callable[[str, list[Batch]], None]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    base = automap_base()
    base.prepare(autoload_with=engine)
    classes = {name: getattr(base.classes, name) for name in shop.registry(rules=True)}

    def apply(entity: str, batches: list[Batch]) -> None:
        table = classes[entity]
        for batch in batches:
            for c in batch:
                with Session(engine) as session:
                    if c.scope is Scope.CHILDREN:
                        for row in session.query(table).filter_by(customer_id=c.key, alive=True):
                            row.alive = False
                    elif c.op == "create":
                        values = {k: v for k, v in c.payload.items()}
                        session.merge(table(id=c.key, alive=True, stamp=c.stamp, **values))
                    else:
                        row = session.get(table, c.key)
                        if c.op == "update":
                            for k, v in c.payload.items():
                                setattr(row, k, v)
                        elif c.op == "delete":
                            row.alive = False
                        else:
                            row.stock = (row.stock or 0) + c.payload["quantity"]
                    session.commit()

    return apply


def raw(url: str) -> Callable[[str, list[Batch]], None]:
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))

    def apply(entity: str, batches: list[Batch]) -> None:
        for batch in batches:
            with conn.cursor() as cur:
                creates = [c for c in batch if c.op == "create"]
                if creates and entity == "products":
                    rows = [(c.key, "SKU-1", "Tea", 450, "EUR", True, 0, True, c.stamp) for c in creates]
                    cur.execute(
                        "INSERT INTO products (id, sku, name, price_minor, currency, active, stock, alive, "
                        "stamp) VALUES "
                        + ",".join(["(%s,%s,%s,%s,%s,%s,%s,%s,%s)"] * len(rows))
                        + " ON CONFLICT (id) DO UPDATE SET name = excluded.name, stamp = excluded.stamp",
                        [v for row in rows for v in row],
                    )
                elif creates:
                    rows = [(c.key, "b@example.com", "Bo", "active", True, c.stamp) for c in creates]
                    cur.execute(
                        "INSERT INTO customers (id, email, name, status, alive, stamp) VALUES "
                        + ",".join(["(%s,%s,%s,%s,%s,%s)"] * len(rows))
                        + " ON CONFLICT (id) DO UPDATE SET name = excluded.name, stamp = excluded.stamp",
                        [v for row in rows for v in row],
                    )
                updates = [c for c in batch if c.op == "update"]
                if updates:
                    cur.execute(
                        "UPDATE customers SET name = v.name "
                        "FROM unnest(%s::text[], %s::text[]) AS v(id, name) WHERE customers.id = v.id",
                        [[c.key for c in updates], [c.payload["name"] for c in updates]],
                    )
                deletes = [c for c in batch if c.op == "delete"]
                if deletes and deletes[0].scope is Scope.CHILDREN:
                    cur.execute(
                        "UPDATE orders SET alive = false WHERE customer_id = ANY(%s)",
                        [[c.key for c in deletes]],
                    )
                elif deletes:
                    cur.execute(
                        "UPDATE customers SET alive = false WHERE id = ANY(%s)", [[c.key for c in deletes]]
                    )
                restocks = [c for c in batch if c.op == "restock"]
                if restocks:
                    cur.execute(
                        "UPDATE products SET stock = stock + v.q "
                        "FROM unnest(%s::text[], %s::int[]) AS v(id, q) WHERE products.id = v.id",
                        [[c.key for c in restocks], [c.payload["quantity"] for c in restocks]],
                    )
            conn.commit()

    return apply


def measure(ways: dict[str, Callable[[str, list[Any]], None]], batches: int) -> dict[str, dict[str, float]]:
    """rows/s per workload and way, the ways taking turns ten batches at a time, so a
    busy machine slows them all alike."""
    data = {way: workloads(f"{way}-{uuid.uuid4().hex[:6]}", batches) for way in ways}
    rates: dict[str, dict[str, float]] = {}
    for name in data["project"]:
        for way in ways:
            for setup_entity, setup_batches in data[way][name][0]:
                ways["project"](setup_entity, as_messages(setup_batches))
        elapsed = dict.fromkeys(ways, 0.0)
        for start in range(0, batches, 10):
            for way in ways:
                _, entity, measured = data[way][name]
                chunk: list[Any] = measured[start : start + 10]
                if way == "project":
                    chunk = as_messages(chunk)
                started = time.perf_counter()
                ways[way](entity, chunk)
                elapsed[way] += time.perf_counter() - started
        rates[name] = {way: batches * BATCH / seconds for way, seconds in elapsed.items()}
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=150)
    parser.add_argument("--write", action="store_true", help="append the table to bench/results/latest.md")
    args = parser.parse_args()
    with scratch_postgres("qf-bench-apply-") as server:
        upgrade(server.url, shop)
        ways = {"project": project(server.url), "naive": naive(server.url), "raw": raw(server.url)}
        rates = measure(ways, args.batches)
    lines = [
        "| workload | project rows/s | naive rows/s | raw rows/s | project / naive | project / raw |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rates.items():
        lines.append(
            f"| {name} | {r['project']:,.0f} | {r['naive']:,.0f} | {r['raw']:,.0f} | "
            f"{r['project'] / r['naive']:.2f}x | {r['project'] / r['raw']:.2f}x |"
        )
    lines.append(
        f"\nactions / creates (project): {rates['actions']['project'] / rates['creates']['project']:.2f}x"
    )
    print("\n".join(lines))
    if args.write:
        record("worker_apply", "\n".join(lines))


if __name__ == "__main__":
    main()
