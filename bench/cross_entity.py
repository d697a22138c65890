"""What the rules across entities cost, measured in one run: admissions and answers against a plain create.

1. Apply rates, on the shop's real tables in a fresh embedded PostgreSQL, through
   the workers' own `BatchApplier`, batches of ten, the ways taking turns:
   - plain create: products created (one hop);
   - admitted create: order items through their order's admission (the orders
     worker admits, then the order_items worker creates: two hops);
   - reserve and answer: those items' reservations at their products, and the
     products' answers applied at the items (two hops).
   Each is reported as items (rows) per second of the hops' apply time, and as a
   ratio of the plain create's rate (goal: at least 0.5x).
2. Latency through `queuefirst dev` (`--latency`): POST /order_items to the item
   `reserved` (its command's status settled, the product's answer applied), p50 and
   p99 over sequential requests.

Run: `python bench/cross_entity.py [--batches 60] [--latency 100] [--write]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record

from queuefirst.local import scratch_postgres
from queuefirst.model.admission import ParentRow, through_parent
from queuefirst.model.command import Command, Producer
from queuefirst.runtime.sender import CommandSender
from queuefirst.schema.upgrade import upgrade
from queuefirst.store.database import Database
from queuefirst.store.entity_store import EntityStore
from queuefirst.worker.batch import BatchApplier, Message
from shop import application as shop

BATCH = 10


class Collect(CommandSender):
    def __init__(self) -> None:
        self.sent: list[Command] = []

    def send(self, commands: Any) -> None:
        self.sent += commands


class Applier:
    """One worker per entity on one database; what each batch sends is collected for the next hop."""

    def __init__(self, url: str) -> None:
        self.database = Database(url)
        self.registry = shop.registry(rules=True)
        self.sender = Collect()
        self.appliers = {
            n: BatchApplier(e, EntityStore(e, self.database), self.sender) for n, e in self.registry.items()
        }
        self.version = 1_000

    def command(
        self, entity: str, op: str, key: str, payload: dict[str, Any], parent: str | None = None
    ) -> Command:
        self.version += 1
        return Command(
            command_id=uuid.uuid4(),
            entity=entity,
            op=op,
            key=key,
            parent=parent,
            version=self.version,
            payload=payload,
            producer=Producer(kind="bench"),
        )

    def apply(self, commands: list[Command]) -> tuple[float, list[Command]]:
        """Apply `commands` in batches of ten at their entity; seconds spent, and what they sent."""
        self.sender.sent = []
        spent = 0.0
        for start in range(0, len(commands), BATCH):
            batch = commands[start : start + BATCH]
            messages = [Message(str(i), c.to_json(), c.lane) for i, c in enumerate(batch)]
            began = time.perf_counter()
            report = self.appliers[batch[0].entity].apply(messages)
            spent += time.perf_counter() - began
            assert not report.failures, report.failures
        return spent, list(self.sender.sent)


def rates(url: str, batches: int) -> dict[str, float]:
    a = Applier(url)
    run = uuid.uuid4().hex[:6]
    n = batches * BATCH
    products = [
        a.command(
            "products",
            "create",
            f"{run}-p{i}",
            {"sku": "TEA-1", "name": "Tea", "price_minor": 450, "currency": "EUR"},
        )
        for i in range(n)
    ]
    plain, _ = a.apply(products)
    a.apply([a.command("products", "restock", p.key, {"quantity": 100}) for p in products])
    customers = [
        a.command("customers", "create", f"{run}-c{i}", {"email": "a@example.com", "name": "A"})
        for i in range(batches)
    ]
    a.apply(customers)
    orders = []
    for c in customers:  # each customer's order, admitted by the customer
        order = a.command("orders", "create", f"{c.key}-o", {"customer_id": c.key, "currency": "EUR"}, c.key)
        orders.append(through_parent(a.registry, order, ParentRow(c.key, None, 0)))
    _, created = a.apply(orders)
    a.apply(created)
    items = []
    for i, product in enumerate(products):  # ten items to an order: one admission batch per order
        order = f"{customers[i // BATCH].key}-o"
        item = a.command(
            "order_items",
            "create",
            f"{run}-i{i}",
            {"order_id": order, "product_id": product.key, "quantity": 1},
            order,
        )
        items.append(through_parent(a.registry, item, ParentRow(order, customers[i // BATCH].key, 0)))
    admit, admitted = a.apply(items)
    create, reserves = a.apply(admitted)
    reserve, answers = a.apply(reserves)
    answer, _ = a.apply(answers)
    a.database.close()
    return {
        "plain create": n / plain,
        "admitted create": n / (admit + create),
        "reserve and answer": n / (reserve + answer),
    }


def latency(samples: int) -> tuple[float, float]:
    from e2e_local import start_stack  # the dev stack, started as a user starts it

    from queuefirst.local import LocalIssuer
    from queuefirst.model.principal import OPERATORS, USERS

    home = Path(tempfile.mkdtemp(prefix="qf-bench-cross-"))
    home.chmod(0o755)  # the embedded PostgreSQL runs as an unprivileged user
    process, base, _ = start_stack(home)
    issuer = LocalIssuer(home, "shop")
    ops, eve = issuer.mint(OPERATORS, "bench", expires_in=3600), issuer.mint(USERS, "eve", expires_in=3600)

    def call(method: str, path: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            base + path,
            data=data,
            method=method,
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer

    def settled(accepted: dict[str, Any], token: str) -> dict[str, Any]:
        while True:
            status = call("GET", accepted["status_url"], token)
            if status["status"] != "pending":
                return status
            time.sleep(0.002)

    try:
        settled(
            call(
                "POST",
                "/products",
                ops,
                {"id": "tea", "sku": "TEA-1", "name": "Tea", "price_minor": 450, "currency": "EUR"},
            ),
            ops,
        )
        settled(call("POST", "/products/tea/restock", ops, {"quantity": 1_000_000}), ops)
        settled(call("POST", "/customers", eve, {"email": "eve@example.com", "name": "Eve"}), eve)
        settled(call("POST", "/orders", eve, {"id": "o-1", "customer_id": "eve", "currency": "EUR"}), eve)
        took = []
        for _ in range(samples):
            began = time.perf_counter()
            status = settled(
                call("POST", "/order_items", eve, {"order_id": "o-1", "product_id": "tea", "quantity": 1}),
                eve,
            )
            took.append((time.perf_counter() - began) * 1000)
            assert status.get("outcome") == "reserved", status
    finally:
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(home, ignore_errors=True)
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument(
        "--latency", type=int, default=0, help="POST -> reserved samples through queuefirst dev"
    )
    parser.add_argument("--write", action="store_true", help="write the table to bench/results/latest.md")
    args = parser.parse_args()
    with scratch_postgres("queuefirst-bench-pg-") as server:
        upgrade(server.url, shop)
        measured = rates(server.url, args.batches)
    base = measured["plain create"]
    lines = ["| workload | rows/s | vs plain create |", "|---|---|---|"]
    lines += [f"| {name} | {rate:,.0f} | {rate / base:.2f}x |" for name, rate in measured.items()]
    if args.latency:
        p50, p99 = latency(args.latency)
        lines += [
            "",
            f"POST /order_items to `reserved` through `queuefirst dev`, {args.latency} sequential: "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
        ]
    table = "\n".join(lines)
    print(table)
    if args.write:
        record("Rules across entities (bench/cross_entity.py)", table)


if __name__ == "__main__":
    main()
