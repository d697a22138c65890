"""The worker handler on real FIFO SQS event shapes, real PostgreSQL and a real SQS server
(moto's), on the kit's fixture application (boards and their cards)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from queuefirst.local import EntityQueues
from queuefirst.model.command import Scope
from queuefirst.model.errors import SendError
from queuefirst.model.registry import Registry
from queuefirst.runtime.sender import CommandSender, ForbiddenTarget
from queuefirst.runtime.sender import sqs_client as make_sqs_client
from queuefirst.runtime.settings import WorkerSettings
from queuefirst.store.database import Database
from queuefirst.worker.handler import WorkerRoot, make_handler
from queuefirst.worker.root import build_worker
from tests.helpers import (
    Context,
    bodies,
    command,
    deliver,
    failed_ids,
    failures,
    log,
    receive_event,
    rows,
    send,
    send_raw,
)

pytestmark = pytest.mark.integration

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture
def root(notes: Registry, notes_url: str, sqs_endpoint: str) -> Callable[..., WorkerRoot]:
    def build(entity: str, database_url: str | None = None) -> WorkerRoot:
        settings = WorkerSettings(
            DATABASE_URL=database_url or notes_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_ENTITY=entity
        )
        return build_worker("notes", notes[entity], settings)

    return build


@pytest.fixture
def worker(root: Callable[..., WorkerRoot]) -> Callable[..., Handler]:
    return lambda entity, **kwargs: make_handler(root(entity, **kwargs))


def board(notes: Registry, key: str = "b1", **extra: Any) -> Any:
    return command(notes["boards"], "create", key, {"title": f"Board {key}"}, **extra)


def card(notes: Registry, key: str, board_id: str = "b1", text: str = "todo", **extra: Any) -> Any:
    return command(notes["cards"], "create", key, {"text": text, "board_id": board_id}, **extra)


def test_a_create_through_the_queue_is_applied_and_logged(
    notes_db: Database,
    notes_queues: dict[str, EntityQueues],
    sqs_client: Any,
    notes: Registry,
    worker: Callable[..., Handler],
) -> None:
    create = board(notes)
    send(sqs_client, notes_queues["boards"], create)
    event = receive_event(sqs_client, notes_queues["boards"])
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["attributes"]["MessageGroupId"] == "b1"
    assert record["messageAttributes"]["command_id"] == {
        "stringValue": str(create.command_id),
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }

    assert worker("boards")(event, Context()) == {"batchItemFailures": []}

    assert rows(notes_db, "boards")["b1"]["title"] == "Board b1"
    assert [(e["op"], e["status"]) for e in log(notes_db, "boards")] == [("create", "applied")]


def test_a_rejection_is_an_answer_recorded_with_its_reason_not_a_failure(
    notes_db: Database,
    notes_queues: dict[str, EntityQueues],
    sqs_client: Any,
    notes: Registry,
    worker: Callable[..., Handler],
) -> None:
    q = notes_queues["boards"]
    send(
        sqs_client,
        q,
        board(notes),
        command(notes["boards"], "close", "b1"),
        command(notes["boards"], "close", "b1"),
    )
    response = worker("boards")(receive_event(sqs_client, q), Context())
    assert response == {"batchItemFailures": []}  # nothing to retry, nothing for the dead letters
    entries = log(notes_db, "boards")
    assert [(e["op"], e["status"], e["reason"]) for e in entries] == [
        ("create", "applied", None),
        ("close", "applied", None),
        ("close", "rejected", "the board is already closed"),
    ]
    assert receive_event(sqs_client, q, wait=0)["Records"] == []


def test_malformed_messages_fail_with_their_reasons_and_hold_back_their_lane_only(
    notes_db: Database,
    notes_queues: dict[str, EntityQueues],
    sqs_client: Any,
    notes: Registry,
    worker: Callable[..., Handler],
) -> None:
    q = notes_queues["boards"]
    not_json = send_raw(sqs_client, q, "{not json", group="b1")
    (behind,) = send(sqs_client, q, board(notes, "b1"))  # same lane, after the bad one
    wrong_entity = send_raw(sqs_client, q, card(notes, "c1", "b2").to_json(), group="b2")
    (fine,) = send(sqs_client, q, board(notes, "b3"))

    response = worker("boards")(receive_event(sqs_client, q), Context())

    assert failed_ids(response) == {not_json, behind, wrong_entity}
    assert fine not in failed_ids(response)
    assert list(rows(notes_db, "boards")) == ["b3"]
    reasons = failures(notes_db, "boards")
    assert reasons[not_json].startswith("malformed command")
    assert reasons[behind] == "held back: an earlier command of its lane failed in this batch"
    assert "reached the boards worker" in reasons[wrong_entity]


def test_a_lane_is_applied_in_order_and_redelivered_in_order_after_a_failure(
    notes_db: Database,
    notes_queues: dict[str, EntityQueues],
    sqs_client: Any,
    notes: Registry,
    root: Callable[..., WorkerRoot],
) -> None:
    q = notes_queues["boards"]
    close, rename = (
        command(notes["boards"], "close", "b1"),
        command(notes["boards"], "update", "b1", {"title": "x"}),
    )
    send(sqs_client, q, board(notes), close, rename)
    boards = root("boards")
    real_send, calls = boards.applier.sender.send, []

    def send_fails_once(commands: Any) -> None:
        calls.append(commands)
        if len(calls) == 1:
            raise SendError({"x": "throttled"})
        real_send(commands)

    boards.applier.sender.send = send_fails_once  # type: ignore[method-assign]
    handler = make_handler(boards)
    event, first = deliver(handler, sqs_client, q)
    ids = [r["messageId"] for r in event["Records"]]
    # The close committed but its ask was not sent: it and the rename behind it go back.
    assert failed_ids(first) == set(ids[1:])
    assert receive_event(sqs_client, notes_queues["cards"], wait=0)["Records"] == []
    again, response = deliver(handler, sqs_client, q)
    assert [r["messageId"] for r in again["Records"]] == ids[1:]  # in order
    assert response == {"batchItemFailures": []}
    asked = bodies(receive_event(sqs_client, notes_queues["cards"]))
    assert [(b["op"], b["scope"], b["key"]) for b in asked] == [("complete", "children", "b1")]
    assert [(e["op"], e["status"]) for e in log(notes_db, "boards")] == [
        ("create", "applied"),
        ("close", "applied"),
        ("update", "applied"),
    ]


def test_a_command_the_database_refuses_is_isolated_and_everything_before_it_applies(
    notes_db: Database,
    notes_queues: dict[str, EntityQueues],
    sqs_client: Any,
    notes: Registry,
    worker: Callable[..., Handler],
) -> None:
    conn = notes_db.connection()
    conn.execute("ALTER TABLE cards ADD CONSTRAINT no_poison CHECK (text <> 'poison')")
    try:
        q = notes_queues["cards"]
        before, poison, after = card(notes, "c1"), card(notes, "c2", text="poison"), card(notes, "c3")
        other_lane = card(notes, "c9", "b2")
        ids = send(sqs_client, q, before, poison, after, other_lane)
        response = worker("cards")(receive_event(sqs_client, q), Context())
    finally:
        conn.execute("ALTER TABLE cards DROP CONSTRAINT no_poison")
    assert failed_ids(response) == {ids[1], ids[2]}
    assert sorted(rows(notes_db, "cards")) == ["c1", "c9"]
    reasons = failures(notes_db, "cards")
    assert reasons[ids[1]].startswith("database refused the command: ") and "no_poison" in reasons[ids[1]]
    assert reasons[ids[2]].startswith("held back")


def test_with_the_database_down_every_message_fails_and_nothing_applies(
    notes_db: Database,
    notes_queues: dict[str, EntityQueues],
    sqs_client: Any,
    notes: Registry,
    worker: Callable[..., Handler],
) -> None:
    q = notes_queues["boards"]
    sent = set(send(sqs_client, q, *(board(notes, f"b{i}") for i in range(3))))
    down = worker("boards", database_url="postgresql://postgres@127.0.0.1:9/postgres")

    assert failed_ids(down(receive_event(sqs_client, q), Context())) == sent
    assert rows(notes_db, "boards") == {}


def test_a_delete_cascades_through_the_childrens_queue(
    notes_db: Database,
    notes_queues: dict[str, EntityQueues],
    sqs_client: Any,
    notes: Registry,
    worker: Callable[..., Handler],
) -> None:
    boards, cards = worker("boards"), worker("cards")
    send(sqs_client, notes_queues["boards"], board(notes))
    send(sqs_client, notes_queues["cards"], card(notes, "c1"), card(notes, "c2"))
    assert deliver(boards, sqs_client, notes_queues["boards"])[1]["batchItemFailures"] == []
    assert deliver(cards, sqs_client, notes_queues["cards"])[1]["batchItemFailures"] == []

    send(sqs_client, notes_queues["boards"], command(notes["boards"], "delete", "b1"))
    assert deliver(boards, sqs_client, notes_queues["boards"])[1]["batchItemFailures"] == []
    cascade, response = deliver(cards, sqs_client, notes_queues["cards"])
    (purge,) = bodies(cascade)
    assert (purge["op"], purge["scope"], purge["key"]) == ("delete", "children", "b1")
    assert [s["entity"] for s in purge["trail"]] == ["boards"]
    assert cascade["Records"][0]["attributes"]["MessageGroupId"] == "b1"
    assert response["batchItemFailures"] == []

    assert rows(notes_db, "boards") == {} and rows(notes_db, "cards") == {}
    entries = log(notes_db, "cards")
    assert [(e["key"], e["op"], e["status"]) for e in entries[-3:]] == [
        ("b1", "delete", "applied"),
        ("c1", "delete", "applied"),
        ("c2", "delete", "applied"),
    ]


def test_a_redelivered_command_changes_nothing_and_re_sends_its_asks_from_the_log(
    notes_db: Database,
    notes_queues: dict[str, EntityQueues],
    sqs_client: Any,
    notes: Registry,
    worker: Callable[..., Handler],
) -> None:
    boards = worker("boards")
    send(sqs_client, notes_queues["boards"], board(notes))
    deliver(boards, sqs_client, notes_queues["boards"])
    send(sqs_client, notes_queues["boards"], command(notes["boards"], "close", "b1"))
    event = receive_event(sqs_client, notes_queues["boards"])

    boards(event, Context())
    sent = receive_event(sqs_client, notes_queues["cards"], visibility=0, max_messages=1)
    assert boards(event, Context()) == {"batchItemFailures": []}  # SQS delivers it again
    # The same ask, byte for byte, with the same deduplication id: SQS keeps one
    # message within five minutes, and the cards worker's log skips it after that.
    again = receive_event(sqs_client, notes_queues["cards"])
    assert [r["body"] for r in again["Records"]] == [r["body"] for r in sent["Records"]]
    entries = log(notes_db, "boards")
    assert [(e["op"], e["status"]) for e in entries] == [("create", "applied"), ("close", "applied")]
    (kept,) = entries[1]["outbox"]
    assert json.loads(again["Records"][0]["body"]) == kept


def test_a_trail_that_revisits_the_entity_is_refused(
    notes_db: Database,
    notes_queues: dict[str, EntityQueues],
    sqs_client: Any,
    notes: Registry,
    worker: Callable[..., Handler],
) -> None:
    start = command(notes["boards"], "delete", "b1")
    loop = start.derive(entity="cards", op="delete", key="b1", label="a", scope=Scope.CHILDREN)
    loop = loop.derive(entity="boards", op="delete", key="b1", label="b")
    message_id = send_raw(sqs_client, notes_queues["boards"], loop.to_json(), group="b1")

    response = worker("boards")(receive_event(sqs_client, notes_queues["boards"]), Context())

    assert failed_ids(response) == {message_id}
    assert (
        failures(notes_db, "boards")[message_id]
        == "causation trail revisits boards: boards -> cards -> boards"
    )


def test_a_worker_may_send_only_to_its_children_and_what_it_asks(sqs_endpoint: str, notes: Registry) -> None:
    sender = CommandSender(
        make_sqs_client(sqs_endpoint, "us-east-1"), "notes", allowed=notes["cards"].sends_to
    )
    with pytest.raises(ForbiddenTarget, match="may not send to boards"):
        sender.send([board(notes)])


def test_a_poison_message_ends_in_the_dead_letter_queue_after_max_receives(
    notes_db: Database,
    notes_queues: dict[str, EntityQueues],
    sqs_client: Any,
    notes: Registry,
    worker: Callable[..., Handler],
) -> None:
    q = notes_queues["boards"]
    message_id = send_raw(sqs_client, q, json.dumps({"entity": "boards", "op": "create"}), group="b1")
    boards, invocations = worker("boards"), 0
    while event := receive_event(sqs_client, q, max_messages=1, visibility=0, wait=0)["Records"]:
        assert failed_ids(boards({"Records": event}, Context())) == {message_id}
        invocations += 1
        assert invocations <= notes["boards"].scaling.max_receive_count
    assert invocations == notes["boards"].scaling.max_receive_count
    dead = sqs_client.receive_message(QueueUrl=q.dlq_url, WaitTimeSeconds=1)["Messages"]
    assert [m["MessageId"] for m in dead] == [message_id]


def test_every_batch_emits_its_metrics_and_structured_logs(
    notes_db: Database,
    notes_queues: dict[str, EntityQueues],
    sqs_client: Any,
    notes: Registry,
    root: Callable[..., WorkerRoot],
    capsys: pytest.CaptureFixture[str],
) -> None:
    create = board(notes)
    send(
        sqs_client,
        notes_queues["boards"],
        create,
        command(notes["boards"], "create", "b1", {"title": "again"}),
    )
    send_raw(sqs_client, notes_queues["boards"], "not a command", group="other")
    boards = root("boards")
    # The logger writes to the stdout it found when first made; read it here instead.
    logs = io.StringIO()
    previous = boards.logger.registered_handler.setStream(logs)
    capsys.readouterr()
    try:
        make_handler(boards)(receive_event(sqs_client, notes_queues["boards"]), Context())
    finally:
        boards.logger.registered_handler.setStream(previous)

    printed = capsys.readouterr().out + logs.getvalue()
    lines = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    records = [line for line in lines if "_aws" in line]
    emf = next(line for line in records if "version" not in line)
    # The failed records once more, per running version: what a canary judges a version by.
    (per_version,) = [line for line in records if "version" in line]
    assert per_version["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "function", "version"]]
    assert per_version["version"] == "$LATEST" and per_version["CommandsFailed"] == [1.0]
    names = {m["Name"] for d in emf["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"CommandsApplied", "CommandsRejected", "CommandsFailed", "ApplyLatency", "MessageAge"} <= names
    assert emf["function"] == "notes-boards-worker"

    def values(metric: Any) -> list[float]:  # EMF holds one value or a list of them
        return [float(v) for v in (metric if isinstance(metric, list) else [metric])]

    assert values(emf["CommandsRejected"]) == [1.0] and values(emf["CommandsFailed"]) == [1.0]
    done = [line for line in lines if line.get("message") == "command done"]
    assert done[0]["command_id"] == str(create.command_id) and done[0]["correlation_id"] == str(
        create.command_id
    )
    assert done[1]["outcome"] == "rejected" and done[1]["reason"] == "boards b1 already exists"
    failed = [line for line in lines if line.get("message") == "command failed"]
    assert failed and failed[0]["reason"].startswith("malformed command")


def test_more_than_ten_commands_go_out_in_batches_of_ten_in_lane_order(
    notes_queues: dict[str, EntityQueues], sqs_client: Any, notes: Registry, sqs_endpoint: str
) -> None:
    sent = [card(notes, f"c{i:02d}") for i in range(23)]
    CommandSender(make_sqs_client(sqs_endpoint, "us-east-1"), "notes").send(sent)
    received = []
    while records := receive_event(sqs_client, notes_queues["cards"])["Records"]:
        received += [json.loads(r["body"])["key"] for r in records]
        sqs_client.delete_message_batch(
            QueueUrl=notes_queues["cards"].url,
            Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)],
        )
    assert received == [c.key for c in sent]
