"""Exactly once, in the documented order, whatever SQS does: a property on real PostgreSQL.

Random multisets of the shop's commands (creates, updates, deletes with their
cascades, every action; item creates and deletes admitted by their order,
order creates by their customer; reservations answered by products, the
answers passed on to the orders, withdrawals of reservations), sent with
duplicates, delivered through FIFO queues simulated in memory (the kit's
harness, `queuefirst.testing.World`: any batch SQS FIFO may form, sends that
fail, deletes that are lost, a database down for a batch now and then) to the
real workers' batch path and the real database. At the end, the rows, every
command's status and everything sent equal the reference model
(`tests.shop.model`) applying each distinct command once in the documented
order; and the shop's invariants hold: no stock below zero, no live row under
a deleted parent but the records the policy keeps, every item's price its
product's at its reservation, no item left pending once the system is quiet.
"""

from __future__ import annotations

import itertools
import os
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from queuefirst.model.admission import ParentRow, admission, through_parent
from queuefirst.model.command import Command, Producer
from queuefirst.model.errors import StoreUnavailable
from queuefirst.model.registry import Registry
from queuefirst.store.database import Database
from queuefirst.store.entity_store import EntityStore
from queuefirst.testing import World
from tests.shop.model import Key, Model, key_of

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("QUEUEFIRST_PROPERTY_EXAMPLES", "200"))
# Mutation runs (does a planted bug fail the property?) want the first failure, not its shrinking.
PHASES = (
    (Phase.explicit, Phase.reuse, Phase.generate)
    if os.environ.get("QUEUEFIRST_PROPERTY_NO_SHRINK")
    else tuple(Phase)
)
POOL = {"customers": 2, "products": 2, "orders": 3, "order_items": 4}
_examples = itertools.count()


class FlakyDatabase(Database):
    """The real database, down now and then for a whole batch (as an outage is)."""

    def __init__(self, url: str, rng: random.Random, rate: float) -> None:
        super().__init__(url)
        self.rng, self.rate = rng, rate

    @contextmanager
    def transaction(self, *, pipelined: bool = False) -> Iterator[psycopg.Connection[Any]]:
        if self.rng.random() < self.rate:
            raise StoreUnavailable("injected: the database is unavailable")
        with super().transaction(pipelined=pipelined) as conn:
            yield conn


def parent_key(entity: str, index: int) -> str | None:
    return {"orders": f"customers-{index % 2}", "order_items": f"orders-{index % 3}"}.get(entity)


def payload(entity: str, op: str, index: int, draw: st.DrawFn) -> dict[str, Any]:
    pick = lambda *values: draw(st.sampled_from(values))  # noqa: E731
    creates = {
        "customers": lambda: {"email": pick("a@example.com", "b@example.org"), "name": pick("Ann", "Bo")},
        "products": lambda: {
            "sku": "SKU-1",
            "name": pick("Tea", "Jam"),
            "price_minor": pick(100, 250),
            "currency": pick("EUR", "EUR", "EUR", "EUR", "USD"),
            "active": pick(True, True, True, True, False),
        },
        "orders": lambda: {"currency": "EUR", "note": pick(None, "gift")},
        "order_items": lambda: {"product_id": f"products-{index % 2}", "quantity": pick(1, 2, 5)},
    }
    updates = {
        "customers": lambda: {"name": pick("Cy", "Di")},
        "products": lambda: {"price_minor": pick(300, 400)},
        "orders": lambda: {"note": pick(None, "fragile")},
    }
    actions = {
        "suspend": lambda: {"reason": pick("fraud", "late payment")},
        "restock": lambda: {"quantity": pick(3, 10, 50)},
        "pay": lambda: {"reference": pick("pay-1", "pay-2")},
        "cancel": lambda: {"reason": "changed my mind"},
    }
    if op == "create":
        return creates[entity]()
    if op == "update":
        return updates[entity]()
    return actions.get(op, dict)()


# What follows the setup, weighted toward what crosses entities: items in and out of orders,
# the orders' own actions, and what their customers and products do meanwhile.
TAIL = [
    *[("order_items", "create")] * 8,
    *[("order_items", "delete")] * 3,
    *[("orders", op) for op in ("pay", "pay", "pay", "cancel", "ship", "delete", "update", "create")],
    *[("customers", op) for op in ("suspend", "reinstate", "delete", "create", "update")],
    *[("products", op) for op in ("restock", "update", "delete", "create")],
]


@st.composite
def api_commands(draw: st.DrawFn) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(entity, op, index, payload) as the api would accept them, in acceptance order: mostly a
    shop set up (customers, products in stock, orders), then anything, items above all."""
    out = []

    def add(entity: str, op: str, index: int) -> None:
        out.append((entity, op, index, payload(entity, op, index, draw)))

    for entity, ops in (
        ("customers", ["create"]),
        ("products", ["create", "restock"]),
        ("orders", ["create"]),
    ):
        for index in range(POOL[entity]):
            if draw(st.integers(0, 9)) < 8:  # most often there, sometimes missing
                for op in ops:
                    add(entity, op, index)
    for _ in range(draw(st.integers(1, 20))):
        entity, op = draw(st.sampled_from(TAIL))
        add(entity, op, draw(st.integers(0, POOL[entity] - 1)))
    for op in ("pay", "ship"):  # often, the orders are paid and shipped at the end
        if draw(st.booleans()):
            for index in range(POOL["orders"]):
                add("orders", op, index)
    return out


def build(
    drawn: list[tuple[str, str, int, dict[str, Any]]], prefix: str, registry: Registry, rng: random.Random
) -> list[Command]:
    """Commands as the api sends them: a write its parent admits goes to the parent's lane."""
    commands = []
    for n, (entity, op, index, body) in enumerate(drawn):
        declared = registry[entity]
        parent = parent_key(entity, index)
        body = dict(body)
        if "product_id" in body:
            body["product_id"] = prefix + body["product_id"]
        if op == "create" and declared.parent_field:
            body[declared.parent_field] = prefix + str(parent)
        command = Command(
            command_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}{n}"),
            entity=entity,
            op=op,
            key=f"{prefix}{entity}-{index}",
            parent=prefix + parent if parent else None,
            # Two api instances stamp within the same moments: versions roughly, not
            # exactly, in acceptance order.
            version=1_000 + 10 * n + rng.randint(0, 15),
            payload=body,
            producer=Producer(kind="api"),
        )
        if admission(registry, entity, op) is not None and parent is not None:
            grandparent = parent_key(declared.parent or "", int(parent.rsplit("-", 1)[1]))
            lane = prefix + grandparent if grandparent else None
            command = through_parent(registry, command, ParentRow(prefix + parent, lane, 0))
        commands.append(command)
    return commands


def run(commands: list[Command], registry: Registry, url: str, rng: random.Random) -> World:
    database = FlakyDatabase(url, rng, rate=0.05)
    world = World(
        registry,
        stores=lambda entity: EntityStore(entity, database),
        rng=rng,
        send_failure_rate=0.1,
        lost_delete_rate=0.1,
    )
    # The api may send a command twice (a retried request, a lost response).
    to_send = list(commands) + [c for c in commands if rng.random() < 0.2]
    try:
        steps = 0
        while to_send or world.fifo.has_messages():
            if to_send and (not world.fifo.has_messages() or rng.random() < 0.4):
                world.fifo.accept(to_send.pop(0))
                continue
            world.step()
            steps += 1
            assert steps < 5_000, "delivery did not settle"
    finally:
        database.close()
    return world


def replay(model: Model, world: World, commands: list[Command]) -> None:
    """Apply every lane's commands in acceptance order, each sent command once its sender has run."""
    known: dict[Key, Command] = {key_of(c): c for c in [*commands, *world.sender.sent]}
    available = {key_of(c) for c in commands}
    cursors = dict.fromkeys(world.fifo.accepted, 0)
    progressed = True
    while progressed:
        progressed = False
        for (entity, lane), order in world.fifo.accepted.items():
            while cursors[entity, lane] < len(order) and (entity, order[cursors[entity, lane]]) in available:
                for sent in model.apply(known[entity, order[cursors[entity, lane]]]):
                    assert key_of(sent) in known, f"the workers never sent {sent.to_json()}"
                    assert known[key_of(sent)].to_json() == sent.to_json(), (
                        known[key_of(sent)].to_json(),
                        sent.to_json(),
                    )
                    available.add(key_of(sent))
                cursors[entity, lane] += 1
                progressed = True
    stuck = {
        lane: order[cursors[lane]]
        for lane, order in world.fifo.accepted.items()
        if cursors[lane] < len(order)
    }
    assert not stuck, f"the workers sent commands the model never made: {stuck}"


def database_state(url: str, registry: Registry, prefix: str) -> tuple[dict[str, Any], dict[Key, str]]:
    rows: dict[str, Any] = {}
    statuses: dict[Key, str] = {}
    with psycopg.connect(**Database(url).params) as conn:
        for name, entity in registry.items():
            cursor = conn.execute(f'SELECT * FROM "{name}" WHERE id LIKE %s', [prefix + "%"])  # type: ignore[call-overload]
            names = [c.name for c in cursor.description or []]
            for record in cursor.fetchall():
                values = dict(zip(names, record, strict=True))
                parent = values.get(entity.parent_field) if entity.parent_field else None
                fields = {f: values[f] for f in entity.field_names}
                rows.setdefault(name, {})[values["id"]] = (parent, values["alive"], fields)
            log = conn.execute(  # type: ignore[call-overload]
                f'SELECT command_id, status FROM "{name}__commands" WHERE key LIKE %s', [prefix + "%"]
            )
            statuses |= {(name, str(command_id)): status for command_id, status in log.fetchall()}
    return rows, statuses


def model_state(model: Model) -> dict[str, Any]:
    return {
        name: {key: (row.parent, row.alive, row.fields) for key, row in table.items()}
        for name, table in model.rows.items()
        if table
    }


def check_invariants(rows: dict[str, Any], model: Model) -> None:
    """What no customer can break, whatever they send, once the system is quiet."""
    products = rows.get("products", {})
    for key, (_, _, fields) in products.items():
        assert fields["stock"] >= 0, f"{key}: stock below zero"
    # Stock is conserved: what came in, less what the items holding it (reserved, or shipped for
    # good) took; every release and withdrawal gave back exactly what its reservation took.
    held: dict[str, int] = {}
    for _, alive, fields in rows.get("order_items", {}).values():
        if alive and fields["status"] in ("reserved", "shipped"):
            held[fields["product_id"]] = held.get(fields["product_id"], 0) + fields["quantity"]
    for key, (_, alive, fields) in products.items():
        if alive and f"products/{key}" not in model.deleted:
            assert fields["stock"] == model.restocked.get(key, 0) - held.get(key, 0), (
                f"{key}: stock not conserved"
            )
    for child, parent in (("orders", "customers"), ("order_items", "orders")):
        for key, (parent_key, alive, fields) in rows.get(child, {}).items():
            parent_row = rows.get(parent, {}).get(parent_key)
            parent_alive = parent_row is not None and parent_row[1]
            # Paid and shipped orders outlive their customer's erasure: the shop's records.
            kept = child == "orders" and fields["status"] in ("paid", "shipped")
            assert not alive or parent_alive or kept, f"{child} {key} lives under a deleted {parent}"
    for key, (_, alive, fields) in rows.get("order_items", {}).items():
        assert fields["status"] != "pending" or not alive, f"item {key} still waits for its product"
        if fields["status"] in ("reserved", "shipped"):
            assert fields["unit_price_minor"] == model.reserved_at[key], (
                f"item {key}: not its product's price"
            )


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=PHASES)
@given(drawn=api_commands(), seed=st.integers(0, 2**32 - 1))
def test_any_delivery_fifo_allows_ends_as_each_command_applied_once_in_lane_order(
    drawn: list[tuple[str, str, int, dict[str, Any]]], seed: int, shop_url: str, shop: Registry
) -> None:
    prefix = f"p{next(_examples)}-{seed}-"
    rng = random.Random(seed)
    commands = build(drawn, prefix, shop, rng)

    world = run(commands, shop, shop_url, rng)

    model = Model(shop)
    replay(model, world, commands)
    rows, statuses = database_state(shop_url, shop, prefix)
    assert rows == model_state(model)
    assert statuses == {k: v for k, v in model.status.items()}
    sent_once = {key_of(c): c.to_json() for c in world.sender.sent}
    assert sorted(sent_once.values()) == sorted(c.to_json() for c in model.sent)
    check_invariants(rows, model)
