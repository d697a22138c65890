"""What concurrent worker invocations and tied versions must not break.

Two invocations of one worker run side by side on AWS whenever its maximum
concurrency is above one; here two threads, each with its own connection to
the real PostgreSQL, apply at the same moment.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text

from queuefirst.model.command import Command, Op
from queuefirst.model.registry import Registry
from queuefirst.store.schema import build_schema
from queuefirst.store.writer import EntityWriter, Outcome, Result

pytestmark = pytest.mark.integration


def at_once(*jobs: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        barrier.wait()
        results[index] = job()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def applying(engine: Engine, writer: EntityWriter, command: Command) -> Callable[[], Result]:
    def job() -> Result:
        with engine.begin() as conn:
            return writer.apply(conn, [command])[0]

    return job


def order(
    key: str, customer: str, version: int, currency: str = "EUR", command_id: uuid.UUID | None = None
) -> Command:
    return Command(
        command_id=command_id or uuid.uuid4(),
        entity="orders",
        op=Op.CREATE,
        key=key,
        version=version,
        payload={"customer_id": customer, "currency": currency, "status": "pending", "note": None},
    )


def test_two_creates_racing_with_different_parents_cannot_both_apply(
    clean_db: Engine, registry: Registry
) -> None:
    writer = EntityWriter(registry["orders"], build_schema(registry))
    for attempt in range(10):
        key = f"race-{attempt}"
        first, second = at_once(
            applying(clean_db, writer, order(key, "A", 1, "EUR")),
            applying(clean_db, writer, order(key, "B", 2, "JPY")),
        )
        outcomes = sorted([first.outcome, second.outcome])
        assert outcomes == sorted([Outcome.APPLIED, Outcome.REJECTED]), (first, second)
        winner = first if first.outcome is Outcome.APPLIED else second
        with clean_db.connect() as conn:
            row = conn.execute(
                text("SELECT customer_id, currency FROM orders WHERE id = :k"), {"k": key}
            ).one()
        assert (row.customer_id, row.currency) == (
            winner.command.payload["customer_id"],
            winner.command.payload["currency"],
        )


def test_a_create_racing_its_parents_cascade_is_born_deleted(clean_db: Engine, registry: Registry) -> None:
    writer = EntityWriter(registry["orders"], build_schema(registry))
    for attempt in range(10):
        customer = f"cust-{attempt}"
        delete = Command(command_id=uuid.uuid4(), entity="customers", op=Op.DELETE, key=customer, version=10)
        purge = delete.derive(entity="orders", op=Op.PURGE, key=customer)
        create = order(f"ord-{attempt}", customer, 5)
        purged, created = at_once(applying(clean_db, writer, purge), applying(clean_db, writer, create))
        with clean_db.connect() as conn:
            alive = conn.execute(
                text("SELECT alive FROM orders WHERE id = :k"), {"k": create.key}
            ).scalar_one()
        assert alive is False
        # Whichever ran first, the order's items hear of the cascade exactly once.
        children = purged.children + created.children
        assert [(c.entity, c.key) for c in children] == [("order_items", create.key)]


@pytest.mark.parametrize("create_sorts_later", [True, False])
def test_a_tie_on_version_is_broken_by_the_deletes_own_id(
    clean_db: Engine, registry: Registry, create_sorts_later: bool
) -> None:
    """Two api processes may stamp the same microsecond: then the command ids
    decide, and the cascade must be ordered as the delete it comes from."""
    low, high = uuid.UUID(int=1), uuid.UUID(int=2**128 - 1)
    delete = Command(
        command_id=low if create_sorts_later else high,
        entity="customers",
        op=Op.DELETE,
        key=f"tie-{create_sorts_later}",
        version=7,
    )
    create = order(
        f"tie-order-{create_sorts_later}", delete.key, 7, command_id=high if create_sorts_later else low
    )
    writer = EntityWriter(registry["orders"], build_schema(registry))
    with clean_db.begin() as conn:
        writer.apply(conn, [delete.derive(entity="orders", op=Op.PURGE, key=delete.key)])
    with clean_db.begin() as conn:
        writer.apply(conn, [create])
    with clean_db.connect() as conn:
        alive = conn.execute(text("SELECT alive FROM orders WHERE id = :k"), {"k": create.key}).scalar_one()
    # create_sorts_later: the create's id sorts after the delete's, so in stamp order it
    # comes later and survives; otherwise the delete comes later and removes it.
    assert alive is create_sorts_later
