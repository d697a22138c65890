"""The worker handler on real SQS event shapes, real PostgreSQL, real moto SQS."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from queuefirst.local.queues import EntityQueues
from queuefirst.model.registry import Registry
from queuefirst.runtime.sender import CommandSender, ForbiddenTarget, SendError, sqs_client
from queuefirst.runtime.settings import WorkerSettings
from queuefirst.store.schema import StoreSchema
from queuefirst.worker.handler import make_handler
from queuefirst.worker.root import build_worker
from tests.helpers import CUSTOMER, Context, bodies, command, failed_ids, receive_event, send_raw

pytestmark = pytest.mark.integration

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture
def workers(registry: Registry, postgres_url: str, sqs_endpoint: str) -> Callable[..., Handler]:
    def build(entity: str, database_url: str | None = None) -> Handler:
        settings = WorkerSettings(
            DATABASE_URL=database_url or postgres_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_ENTITY=entity
        )
        return make_handler(build_worker("shop", registry[entity], settings))

    return build


@pytest.fixture
def api_sender(sqs_endpoint: str) -> CommandSender:
    return CommandSender(sqs_client(sqs_endpoint, "us-east-1"), "shop")


def visible(engine: Engine, table: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table} WHERE alive ORDER BY id")).mappings()
        return {r["id"]: dict(r) for r in rows}


def test_create_through_the_queue_is_applied_and_logged(
    clean_db: Engine,
    queues: dict[str, EntityQueues],
    sqs_client: Any,
    api_sender: CommandSender,
    workers: Callable[..., Handler],
    schema: StoreSchema,
) -> None:
    create = command("customers", "create", "c1", 1, CUSTOMER)
    api_sender.send([create])
    event = receive_event(sqs_client, queues["customers"])
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["messageAttributes"]["command_id"]["stringValue"] == str(create.command_id)
    assert record["messageAttributes"]["op"]["stringValue"] == "create"

    response = workers("customers")(event, Context())

    assert response == {"batchItemFailures": []}
    assert visible(clean_db, "customers")["c1"]["email"] == "ann@example.com"
    with clean_db.connect() as conn:
        status = conn.execute(select(schema.commands.c.status)).scalar_one()
    assert status == "applied"


def test_partial_failure_reports_only_the_bad_records_with_reasons(
    clean_db: Engine,
    queues: dict[str, EntityQueues],
    sqs_client: Any,
    workers: Callable[..., Handler],
    schema: StoreSchema,
) -> None:
    q = queues["customers"]
    good = send_raw(sqs_client, q, command("customers", "create", "c1", 1, CUSTOMER).to_json())
    not_json = send_raw(sqs_client, q, "{not json")
    bad_email = send_raw(
        sqs_client, q, command("customers", "create", "c2", 2, {**CUSTOMER, "email": "nope"}).to_json()
    )
    wrong_entity = send_raw(sqs_client, q, command("orders", "delete", "o1", 3).to_json())

    response = workers("customers")(receive_event(sqs_client, q), Context())

    assert failed_ids(response) == {not_json, bad_email, wrong_entity}
    assert good not in failed_ids(response)
    assert list(visible(clean_db, "customers")) == ["c1"]
    with clean_db.connect() as conn:
        reasons = dict(conn.execute(select(schema.failures.c.message_id, schema.failures.c.reason)).all())
    assert reasons[not_json].startswith("malformed command")
    assert "email" in reasons[bad_email]
    assert "reached the customers worker" in reasons[wrong_entity]


def test_a_poison_record_is_isolated_and_the_rest_of_the_batch_applies(
    clean_db: Engine,
    queues: dict[str, EntityQueues],
    sqs_client: Any,
    workers: Callable[..., Handler],
    schema: StoreSchema,
) -> None:
    q = queues["customers"]
    # Valid to pydantic, refused by PostgreSQL: text may not contain NUL.
    poison = send_raw(
        sqs_client,
        q,
        command("customers", "create", "c2", 2, {**CUSTOMER, "name": "Nul\u0000Byte"}).to_json(),
    )
    for i in (1, 3, 4):
        send_raw(sqs_client, q, command("customers", "create", f"c{i}", i, CUSTOMER).to_json())

    response = workers("customers")(receive_event(sqs_client, q), Context())

    assert failed_ids(response) == {poison}
    assert list(visible(clean_db, "customers")) == ["c1", "c3", "c4"]
    with clean_db.connect() as conn:
        reason = conn.execute(select(schema.failures.c.reason)).scalar_one()
    assert "database refused the command" in reason


def test_database_down_fails_every_record_and_applies_nothing(
    clean_db: Engine,
    queues: dict[str, EntityQueues],
    sqs_client: Any,
    workers: Callable[..., Handler],
) -> None:
    q = queues["customers"]
    sent = {
        send_raw(sqs_client, q, command("customers", "create", f"c{i}", i, CUSTOMER).to_json())
        for i in range(3)
    }
    down = workers("customers", database_url="postgresql://postgres@127.0.0.1:9/postgres")

    response = down(receive_event(sqs_client, q), Context())

    assert failed_ids(response) == sent
    assert visible(clean_db, "customers") == {}


def test_delete_cascades_through_orders_to_items_via_the_queues(
    clean_db: Engine,
    queues: dict[str, EntityQueues],
    sqs_client: Any,
    api_sender: CommandSender,
    workers: Callable[..., Handler],
) -> None:
    customers, orders, items = workers("customers"), workers("orders"), workers("order_items")
    api_sender.send([command("customers", "create", "c1", 1, CUSTOMER)])
    api_sender.send(
        [
            command("orders", "create", f"o{i}", 2 + i, {"customer_id": "c1", "currency": "EUR"})
            for i in range(2)
        ]
    )
    api_sender.send(
        [
            command(
                "order_items",
                "create",
                f"i{i}",
                5 + i,
                {
                    "order_id": f"o{i % 2}",
                    "product_id": "p1",
                    "quantity": 1,
                    "unit_price_minor": 100,
                    "currency": "EUR",
                },
            )
            for i in range(3)
        ]
    )
    for handler, name in ((customers, "customers"), (orders, "orders"), (items, "order_items")):
        assert handler(receive_event(sqs_client, queues[name]), Context()) == {"batchItemFailures": []}
    assert len(visible(clean_db, "order_items")) == 3

    api_sender.send([command("customers", "delete", "c1", 10)])
    assert customers(receive_event(sqs_client, queues["customers"]), Context())["batchItemFailures"] == []
    purge_orders = receive_event(sqs_client, queues["orders"])
    assert [b["op"] for b in bodies(purge_orders)] == ["purge"]
    assert orders(purge_orders, Context())["batchItemFailures"] == []
    purge_items = receive_event(sqs_client, queues["order_items"])
    assert sorted(b["key"] for b in bodies(purge_items)) == ["o0", "o1"]
    assert all([s["entity"] for s in b["trail"]] == ["customers", "orders"] for b in bodies(purge_items))
    assert items(purge_items, Context())["batchItemFailures"] == []

    assert visible(clean_db, "customers") == {}
    assert visible(clean_db, "orders") == {}
    assert visible(clean_db, "order_items") == {}


def test_redelivered_parent_resends_byte_identical_children_even_as_a_duplicate(
    clean_db: Engine,
    queues: dict[str, EntityQueues],
    sqs_client: Any,
    api_sender: CommandSender,
    workers: Callable[..., Handler],
    schema: StoreSchema,
) -> None:
    customers = workers("customers")
    api_sender.send([command("customers", "delete", "c1", 10)])
    event = receive_event(sqs_client, queues["customers"])

    customers(event, Context())
    first = receive_event(sqs_client, queues["orders"])
    customers(event, Context())  # SQS redelivers the same message
    second = receive_event(sqs_client, queues["orders"])

    assert [r["body"] for r in first["Records"]] == [r["body"] for r in second["Records"]]
    assert len(first["Records"]) == 1
    with clean_db.connect() as conn:
        assert conn.execute(select(schema.commands.c.status)).scalars().all() == ["applied"]


def test_a_trail_that_revisits_the_entity_is_refused(
    clean_db: Engine,
    queues: dict[str, EntityQueues],
    sqs_client: Any,
    workers: Callable[..., Handler],
    schema: StoreSchema,
) -> None:
    loop = command("customers", "delete", "c1", 1).derive(entity="orders", op="purge", key="c1")  # type: ignore[arg-type]
    loop = loop.derive(entity="customers", op="delete", key="c1")  # type: ignore[arg-type]
    message_id = send_raw(sqs_client, queues["customers"], loop.to_json())

    response = workers("customers")(receive_event(sqs_client, queues["customers"]), Context())

    assert failed_ids(response) == {message_id}
    with clean_db.connect() as conn:
        reason = conn.execute(select(schema.failures.c.reason)).scalar_one()
    assert reason == "causation trail revisits customers: customers -> orders -> customers"


def test_a_worker_may_send_only_to_its_children(sqs_endpoint: str) -> None:
    sender = CommandSender(sqs_client(sqs_endpoint, "us-east-1"), "shop", allowed=("orders",))
    with pytest.raises(ForbiddenTarget, match="may not send to products"):
        sender.send([command("products", "delete", "p1", 1)])


def test_a_poison_message_ends_in_the_dead_letter_queue_after_max_receives(
    clean_db: Engine,
    queues: dict[str, EntityQueues],
    sqs_client: Any,
    workers: Callable[..., Handler],
    registry: Registry,
) -> None:
    q = queues["products"]
    message_id = send_raw(sqs_client, q, json.dumps({"entity": "products", "op": "create"}))
    products = workers("products")
    invocations = 0
    while event := receive_event(sqs_client, q, max_messages=1, visibility=0, wait=0)["Records"]:
        assert failed_ids(products({"Records": event}, Context())) == {message_id}
        invocations += 1
        assert invocations <= registry["products"].scaling.max_receive_count
    assert invocations == registry["products"].scaling.max_receive_count
    dead = sqs_client.receive_message(QueueUrl=q.dlq_url, WaitTimeSeconds=1)["Messages"]
    assert [m["MessageId"] for m in dead] == [message_id]


def test_every_batch_emits_its_metrics_and_structured_logs(
    clean_db: Engine,
    queues: dict[str, EntityQueues],
    sqs_client: Any,
    api_sender: CommandSender,
    registry: Registry,
    postgres_url: str,
    sqs_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create = command("customers", "create", "c1", 1, CUSTOMER)
    api_sender.send([create, create])  # SQS may deliver one command twice
    send_raw(sqs_client, queues["customers"], "not a command")
    settings = WorkerSettings(
        DATABASE_URL=postgres_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_ENTITY="customers"
    )
    root = build_worker("shop", registry["customers"], settings)
    # The logger writes to the stdout it found when first made; read it here instead.
    logs = io.StringIO()
    previous = root.logger.registered_handler.setStream(logs)
    capsys.readouterr()
    try:
        make_handler(root)(receive_event(sqs_client, queues["customers"]), Context())
    finally:
        root.logger.registered_handler.setStream(previous)

    printed = capsys.readouterr().out + logs.getvalue()
    lines = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    emf = next(line for line in lines if "_aws" in line)
    names = {m["Name"] for d in emf["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"CommandsApplied", "CommandsRejected", "ApplyLatency", "MessageAge"} <= names
    assert emf["function"] == "shop-customers-worker"

    def values(metric: Any) -> list[float]:  # EMF holds one value or a list of them
        return [float(v) for v in (metric if isinstance(metric, list) else [metric])]

    assert values(emf["CommandsRejected"]) == [1.0] and values(emf["ApplyLatency"])[0] >= 0
    done = [line for line in lines if line.get("message") == "command done"]
    assert done and all(line["command_id"] == str(create.command_id) for line in done)
    assert done[0]["correlation_id"] == str(create.command_id)
    failed = [line for line in lines if line.get("message") == "command failed"]
    assert failed and failed[0]["reason"].startswith("malformed command")


def test_more_than_ten_commands_go_out_in_batches_of_ten(
    queues: dict[str, EntityQueues], sqs_client: Any, api_sender: CommandSender
) -> None:
    sent = [command("products", "delete", f"p{i}", i) for i in range(23)]
    api_sender.send(sent)
    received = bodies(receive_event(sqs_client, queues["products"], max_messages=30))
    assert sorted(b["command_id"] for b in received) == sorted(str(c.command_id) for c in sent)


def test_a_cascade_whose_children_failed_to_send_sends_them_on_redelivery(
    clean_db: Engine,
    queues: dict[str, EntityQueues],
    sqs_client: Any,
    api_sender: CommandSender,
    workers: Callable[..., Handler],
    registry: Registry,
    postgres_url: str,
    sqs_endpoint: str,
) -> None:
    api_sender.send([command("orders", "create", "o1", 1, {"customer_id": "c1", "currency": "EUR"})])
    workers("orders")(receive_event(sqs_client, queues["orders"]), Context())
    purge = command("customers", "delete", "c1", 5).derive(entity="orders", op="purge", key="c1")  # type: ignore[arg-type]
    send_raw(sqs_client, queues["orders"], purge.to_json())
    event = receive_event(sqs_client, queues["orders"])

    root = build_worker(
        "shop",
        registry["orders"],
        WorkerSettings(DATABASE_URL=postgres_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_ENTITY="orders"),
    )
    real_send = root.applier.sender.send
    calls = 0

    def flaky_send(commands: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise SendError({"x": "throttled"})
        real_send(commands)

    root.applier.sender.send = flaky_send  # type: ignore[method-assign]
    handler = make_handler(root)
    first = handler(event, Context())
    assert failed_ids(first) == {event["Records"][0]["messageId"]}  # committed, children not sent
    assert receive_event(sqs_client, queues["order_items"], wait=0)["Records"] == []
    assert handler(event, Context()) == {"batchItemFailures": []}  # SQS redelivers: a duplicate now
    sent = bodies(receive_event(sqs_client, queues["order_items"]))
    assert [(b["op"], b["key"]) for b in sent] == [("purge", "o1")]
