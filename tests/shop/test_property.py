"""Exactly once, in the documented order, whatever SQS does: a property on real PostgreSQL.

Random multisets of the shop's commands (creates, updates, deletes with their
cascades, and every action, with the asks they send: suspensions cancelling
orders, cancellations releasing items, items reserving and releasing stock),
sent with duplicates, delivered through FIFO queues simulated in memory
(`queuefirst.testing.fifo`: any batch SQS FIFO may form, sends that fail, deletes
that are lost, a database that is down for a batch now and then) to the real
workers' batch path and the real database. At the end, the rows, every
command's status, the multiset of asks sent and every stock level equal the
reference model (`tests.shop.model`) applying each distinct command once in
the documented order.
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queuefirst.model.command import Command, Producer
from queuefirst.model.errors import StoreUnavailable
from queuefirst.model.registry import Registry
from queuefirst.store.database import Database
from queuefirst.store.entity_store import EntityStore
from queuefirst.testing.fifo import FifoQueues, FifoSender
from queuefirst.worker.batch import BatchApplier
from tests.shop.model import Model

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("QUEUEFIRST_PROPERTY_EXAMPLES", "200"))
POOL = {"customers": 2, "products": 2, "orders": 3, "order_items": 4}
OPS = {
    "customers": ["create", "create", "update", "delete", "suspend", "reinstate"],
    "products": ["create", "create", "update", "delete", "restock"],
    "orders": ["create", "create", "update", "delete", "pay", "ship", "cancel", "cancel"],
    "order_items": ["create", "create", "create", "update", "delete"],
}
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
            "currency": "EUR",
        },
        "orders": lambda: {"currency": "EUR", "note": pick(None, "gift")},
        "order_items": lambda: {
            "product_id": f"products-{index % 2}",
            "quantity": pick(1, 2, 5),
            "unit_price_minor": pick(100, 250),
            "currency": "EUR",
        },
    }
    updates = {
        "customers": lambda: {"name": pick("Cy", "Di")},
        "products": lambda: {"price_minor": pick(300, 400)},
        "orders": lambda: {"note": pick(None, "fragile")},
        "order_items": lambda: {"unit_price_minor": pick(50, 75)},
    }
    actions = {
        "suspend": lambda: {"reason": pick("fraud", "late payment")},
        "restock": lambda: {"quantity": pick(1, 3, 10)},
        "pay": lambda: {"reference": pick("pay-1", "pay-2")},
        "cancel": lambda: {"reason": "changed my mind"},
    }
    if op == "create":
        return creates[entity]()
    if op == "update":
        return updates[entity]()
    return actions.get(op, dict)()


@st.composite
def api_commands(draw: st.DrawFn) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(entity, op, index, payload) as the api would accept them, in acceptance order."""
    out = []
    for _ in range(draw(st.integers(1, 24))):
        entity = draw(st.sampled_from(list(POOL)))
        index = draw(st.integers(0, POOL[entity] - 1))
        op = draw(st.sampled_from(OPS[entity]))
        out.append((entity, op, index, payload(entity, op, index, draw)))
    return out


def build(
    drawn: list[tuple[str, str, int, dict[str, Any]]], prefix: str, registry: Registry, rng: random.Random
) -> list[Command]:
    commands = []
    for n, (entity, op, index, body) in enumerate(drawn):
        declared = registry[entity]
        parent = parent_key(entity, index)
        body = dict(body)
        if "product_id" in body:
            body["product_id"] = prefix + body["product_id"]
        if op == "create" and declared.parent_field:
            body[declared.parent_field] = prefix + str(parent)
        commands.append(
            Command(
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
        )
    return commands


def run(
    commands: list[Command], registry: Registry, url: str, rng: random.Random
) -> tuple[FifoQueues, FifoSender]:
    fifo = FifoQueues(rng, send_failure_rate=0.1, lost_delete_rate=0.1)
    sender = FifoSender(fifo)
    database = FlakyDatabase(url, rng, rate=0.05)
    appliers = {
        name: BatchApplier(entity, EntityStore(entity, database), sender) for name, entity in registry.items()
    }
    # The api may send a command twice (a retried request, a lost response).
    to_send = list(commands) + [c for c in commands if rng.random() < 0.2]
    steps = 0
    try:
        while to_send or fifo.has_messages():
            if to_send and (not fifo.has_messages() or rng.random() < 0.4):
                fifo.accept(to_send.pop(0))
                continue
            entity = rng.choice(sorted(e for e, q in fifo.queues.items() if q))
            batch = fifo.batch(entity)
            report = appliers[entity].apply(fifo.messages(batch))
            fifo.settle(entity, batch, set(report.failures))
            steps += 1
            assert steps < 5_000, "delivery did not settle"
    finally:
        database.close()
    return fifo, sender


def replay(model: Model, fifo: FifoQueues, commands: list[Command], sender: FifoSender) -> None:
    """Apply every lane's commands in acceptance order, each ask once its sender has run."""
    known = {str(c.command_id): c for c in [*commands, *sender.sent]}
    available = {str(c.command_id) for c in commands}
    cursors = dict.fromkeys(fifo.accepted, 0)
    progressed = True
    while progressed:
        progressed = False
        for lane, order in fifo.accepted.items():
            while cursors[lane] < len(order) and order[cursors[lane]] in available:
                for ask in model.apply(known[order[cursors[lane]]]):
                    ask_id = str(ask.command_id)
                    assert ask_id in known, f"the workers never sent {ask.to_json()}"
                    assert known[ask_id].to_json() == ask.to_json()
                    available.add(ask_id)
                cursors[lane] += 1
                progressed = True
    stuck = {
        lane: order[cursors[lane]] for lane, order in fifo.accepted.items() if cursors[lane] < len(order)
    }
    assert not stuck, f"the workers sent asks the model never made: {stuck}"


def database_state(url: str, registry: Registry, prefix: str) -> tuple[dict[str, Any], dict[str, str]]:
    rows: dict[str, Any] = {}
    statuses: dict[str, str] = {}
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
            statuses |= {str(command_id): status for command_id, status in log.fetchall()}
    return rows, statuses


def model_state(model: Model) -> dict[str, Any]:
    return {
        name: {key: (row.parent, row.alive, row.fields) for key, row in table.items()}
        for name, table in model.rows.items()
        if table
    }


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=api_commands(), seed=st.integers(0, 2**32 - 1))
def test_any_delivery_fifo_allows_ends_as_each_command_applied_once_in_lane_order(
    drawn: list[tuple[str, str, int, dict[str, Any]]], seed: int, shop_url: str, shop: Registry
) -> None:
    prefix = f"p{next(_examples)}-{seed}-"
    rng = random.Random(seed)
    commands = build(drawn, prefix, shop, rng)

    fifo, sender = run(commands, shop, shop_url, rng)

    model = Model(shop)
    replay(model, fifo, commands, sender)
    rows, statuses = database_state(shop_url, shop, prefix)
    assert rows == model_state(model)
    assert statuses == model.status
    sent_once = {str(c.command_id): c.to_json() for c in sender.sent}
    assert sorted(sent_once.values()) == sorted(c.to_json() for c in model.asks)
