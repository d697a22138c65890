"""Convergence, as a property on the real PostgreSQL store.

For any multiset of creates, partial updates, deletes and cascading deletes,
delivered in any order, with duplicates and arbitrary batch boundaries, the
visible state equals applying each distinct command once in version order.

The commands go through the worker's real path (decode, one transaction per
batch, the real upserts); only the queue between workers is a list here, so
Hypothesis can choose every delivery order. The SQS path has its own tests.
"""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from queuefirst.model.command import Command, Op
from queuefirst.model.registry import Registry
from queuefirst.runtime.sender import CommandSender
from queuefirst.store.schema import ALIVE, build_schema
from queuefirst.store.writer import EntityWriter
from queuefirst.worker.batch import BatchApplier, Message

pytestmark = pytest.mark.integration

CUSTOMERS, ORDERS, ITEMS = 2, 3, 4
_examples = itertools.count()


class CollectingSender(CommandSender):
    """Holds child commands for the test to deliver in an order of its choosing."""

    def __init__(self) -> None:
        self.sent: list[Command] = []

    def send(self, commands: Any) -> None:
        self.sent.extend(commands)


def parent_of(entity: str, key: str, prefix: str) -> str | None:
    index = int(key.rsplit("-", 1)[1])
    if entity == "orders":
        return f"{prefix}customers-{index % CUSTOMERS}"
    if entity == "order_items":
        return f"{prefix}orders-{index % ORDERS}"
    return None


FIELD_VALUES: dict[str, dict[str, list[Any]]] = {
    "customers": {
        "email": ["a@example.com", "b@example.org"],
        "name": ["Ann", "Bo", "Cy"],
        "phone": [None, "+4915112345678"],
        "status": ["active", "suspended"],
    },
    "orders": {
        "status": ["pending", "paid", "shipped"],
        "currency": ["EUR", "JPY"],
        "note": [None, "gift", "fragile"],
    },
    "order_items": {
        "product_id": ["p1", "p2"],
        "quantity": [1, 2, 7],
        "unit_price_minor": [0, 999, 1500],
        "currency": ["EUR", "JPY"],
    },
}
POOL = {"customers": CUSTOMERS, "orders": ORDERS, "order_items": ITEMS}


@st.composite
def api_commands(draw: st.DrawFn) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(entity, op, key index, payload) as the api would issue them."""
    out = []
    for _ in range(draw(st.integers(1, 24))):
        entity = draw(st.sampled_from(list(POOL)))
        key = str(draw(st.integers(0, POOL[entity] - 1)))
        op = draw(st.sampled_from(["create", "create", "update", "delete"]))
        values = FIELD_VALUES[entity]
        if op == "create":
            payload = {f: draw(st.sampled_from(v)) for f, v in values.items()}
        elif op == "update":
            chosen = draw(st.sets(st.sampled_from(list(values)), min_size=1))
            payload = {f: draw(st.sampled_from(values[f])) for f in sorted(chosen)}
        else:
            payload = {}
        out.append((entity, op, key, payload))
    return out


@dataclass
class Row:
    parent: str | None
    fields: dict[str, Any]
    alive: bool = True


@dataclass
class Model:
    """The reference: each distinct command applied once, in stamp order."""

    registry: Registry
    rows: dict[str, dict[str, Row]] = field(default_factory=dict)

    def apply(self, command: Command, prefix: str) -> None:
        table = self.rows.setdefault(command.entity, {})
        entity = self.registry[command.entity]
        if command.op is Op.CREATE:
            fields = {k: v for k, v in command.payload.items() if k != entity.parent_field}
            row = table.setdefault(command.key, Row(parent_of(command.entity, command.key, prefix), {}))
            row.fields.update(fields)
            row.alive = True
        elif command.op is Op.UPDATE:
            if command.key in table:
                table[command.key].fields.update(command.payload)
        elif command.op is Op.DELETE:
            if command.key in table:
                table[command.key].alive = False
            self.cascade(command.entity, command.key)

    def cascade(self, entity: str, key: str) -> None:
        for child in self.registry[entity].children:
            for child_key, row in self.rows.get(child, {}).items():
                if row.parent == key:
                    row.alive = False
                    self.cascade(child, child_key)

    def visible(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            name: {k: {"parent": r.parent, **r.fields} for k, r in table.items() if r.alive}
            for name, table in self.rows.items()
        }


def build_commands(
    drawn: list[tuple[str, str, str, dict[str, Any]]], prefix: str, registry: Registry, rng: random.Random
) -> list[Command]:
    versions = rng.sample(range(1, 10_000), len(drawn))
    commands = []
    for n, ((entity, op, index, payload), version) in enumerate(zip(drawn, versions, strict=True)):
        key = f"{prefix}{entity}-{index}"
        body = dict(payload)
        parent_field = registry[entity].parent_field
        if op == "create" and parent_field:
            body[parent_field] = parent_of(entity, key, prefix)
        commands.append(
            Command(
                command_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}{n}"),
                entity=entity,
                op=Op(op),
                key=key,
                version=version,
                payload=body,
            )
        )
    return commands


def visible_state(engine: Engine, registry: Registry, prefix: str) -> dict[str, dict[str, dict[str, Any]]]:
    schema = build_schema(registry)
    state: dict[str, dict[str, dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name in ("customers", "orders", "order_items"):
            entity = registry[name]
            rows = schema.entities[name].rows
            query = select(rows).where(rows.c.id.startswith(prefix), rows.c[ALIVE])
            for row in conn.execute(query).mappings():
                parent = row[entity.parent_field] if entity.parent_field else None
                state.setdefault(name, {})[row["id"]] = {
                    "parent": parent,
                    **{f: row[f] for f in entity.field_names},
                }
    return state


def deliver(commands: list[Command], registry: Registry, engine: Engine, rng: random.Random) -> int:
    """Deliver like SQS would: any order, duplicates, any batch boundaries."""
    schema = build_schema(registry)
    sender = CollectingSender()
    appliers = {
        name: BatchApplier(registry[name], engine, EntityWriter(registry[name], schema), sender)
        for name in ("customers", "orders", "order_items")
    }
    pending = list(commands)
    deliveries = 0
    while pending:
        entity = rng.choice(sorted({c.entity for c in pending}))
        mine = [c for c in pending if c.entity == entity]
        batch = rng.sample(mine, rng.randint(1, min(5, len(mine))))
        for command in batch:
            # Leave a copy behind now and then: SQS redelivers what it likes.
            if rng.random() >= 0.25:
                pending.remove(command)
        report = appliers[entity].apply([Message(str(i), c.to_json()) for i, c in enumerate(batch)])
        assert not report.failures, report.failures
        pending.extend(sender.sent)
        sender.sent.clear()
        deliveries += 1
        assert deliveries < 5_000, "delivery did not settle"
    return deliveries


@settings(
    max_examples=int(__import__("os").environ.get("CONV_N", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=api_commands(), seed=st.integers(0, 2**32 - 1))
def test_any_delivery_order_converges_to_version_order(
    drawn: list[tuple[str, str, str, dict[str, Any]]], seed: int, engine: Engine, registry: Registry
) -> None:
    prefix = f"cv{next(_examples)}-{seed}-"
    rng = random.Random(seed)
    commands = build_commands(drawn, prefix, registry, rng)
    # Redelivered api commands are the same messages: duplicate some up front.
    multiset = commands + [c for c in commands if rng.random() < 0.3]
    deliver(multiset, registry, engine, rng)

    model = Model(registry)
    for command in sorted(commands, key=lambda c: c.stamp):
        model.apply(command, prefix)
    expected = {k: v for k, v in model.visible().items() if v}
    assert visible_state(engine, registry, prefix) == expected


def test_property_catches_a_store_that_ignores_stamps(engine: Engine, registry: Registry) -> None:
    """The oracle can fail: last-delivered-wins gives a different state."""
    prefix = f"cvneg{next(_examples)}-"
    newer = Command(
        command_id=uuid.uuid4(),
        entity="customers",
        op=Op.CREATE,
        key=f"{prefix}customers-0",
        version=20,
        payload={"email": "a@example.com", "name": "Ann", "status": "active"},
    )
    older = newer.model_copy(
        update={"command_id": uuid.uuid4(), "version": 10, "payload": {**newer.payload, "name": "Old"}}
    )
    deliver([newer], registry, engine, random.Random(0))
    deliver([older], registry, engine, random.Random(0))
    state = visible_state(engine, registry, prefix)
    assert state["customers"][f"{prefix}customers-0"]["name"] == "Ann"


def _scenario(registry: Registry, prefix: str) -> dict[str, Command]:
    def make(entity: str, op: str, key: str, version: int, payload: dict[str, Any]) -> Command:
        return Command(
            command_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}{entity}{op}{key}"),
            entity=entity,
            op=Op(op),
            key=f"{prefix}{key}",
            version=version,
            payload=payload,
        )

    return {
        "customer": make("customers", "create", "c", 1, {"email": "a@example.com", "name": "Ann"}),
        "order": make("orders", "create", "o", 2, {"currency": "EUR", "customer_id": f"{prefix}c"}),
        "item": make(
            "order_items",
            "create",
            "i",
            3,
            {
                "product_id": "p",
                "quantity": 1,
                "unit_price_minor": 5,
                "currency": "EUR",
                "order_id": f"{prefix}o",
            },
        ),
        "delete": make("customers", "delete", "c", 4, {}),
    }


def test_children_delivered_after_their_parents_cascade_are_born_deleted(
    engine: Engine, registry: Registry
) -> None:
    """The cascade overtakes the creates it must delete: an order and an item
    created before the customer's delete but delivered after it stay invisible."""
    prefix = f"cvborn{next(_examples)}-"
    c = _scenario(registry, prefix)
    schema = build_schema(registry)
    sender = CollectingSender()

    def run(entity: str, commands: list[Command]) -> None:
        applier = BatchApplier(registry[entity], engine, EntityWriter(registry[entity], schema), sender)
        report = applier.apply([Message(str(i), x.to_json()) for i, x in enumerate(commands)])
        assert not report.failures

    run("customers", [c["customer"], c["delete"]])
    (purge_orders,) = sender.sent
    sender.sent.clear()
    run("orders", [purge_orders])
    assert sender.sent == []  # no order existed yet: nothing to pass on
    run("orders", [c["order"]])  # arrives late, older than the cascade
    (purge_items,) = sender.sent
    assert purge_items.entity == "order_items" and purge_items.key == f"{prefix}o"
    sender.sent.clear()
    run("order_items", [c["item"]])
    run("order_items", [purge_items])
    assert visible_state(engine, registry, prefix) == {}
