"""Shared test helpers: commands, FIFO sends, and real SQS messages turned into real Lambda events."""

from __future__ import annotations

import contextlib
import itertools
import json
import uuid
from typing import Any

from queuefirst.local import EntityQueues, RouteTable, http_event, sqs_event
from queuefirst.model.command import Command, Scope
from queuefirst.model.entity import Entity
from queuefirst.model.http_routes import api_routes
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst.model.registry import Registry
from queuefirst.runtime.sender import batch_entry
from queuefirst.store.database import Database

_versions = itertools.count(1)
# (queue URL, receipt handle) of every message a test received, so the queue
# fixtures can delete them afterwards, as an event source deletes what it settled.
RECEIVED: list[tuple[str, str]] = []


def forget_received(client: Any) -> None:
    for url, receipt in RECEIVED:
        # Already deleted, or back in the queue: drained before the next test.
        with contextlib.suppress(client.exceptions.ClientError):
            client.delete_message(QueueUrl=url, ReceiptHandle=receipt)
    RECEIVED.clear()


def command(
    entity: Entity, op: str, key: str, payload: dict[str, Any] | None = None, **extra: Any
) -> Command:
    """A command as a producer sends it; a create of a child names its parent from the payload."""
    parent = extra.pop("parent", None)
    if parent is None and entity.parent_field and op == "create" and extra.get("scope") != Scope.CHILDREN:
        parent = (payload or {})[entity.parent_field]
    return Command(
        command_id=extra.pop("command_id", None) or uuid.uuid4(),
        entity=entity.name,
        op=op,
        key=key,
        parent=parent,
        version=extra.pop("version", None) or next(_versions),
        payload=payload or {},
        **extra,
    )


def send(client: Any, queue: EntityQueues, *commands: Command) -> list[str]:
    """Send as the kit's sender does (lane, deduplication id); the message ids."""
    ids = []
    for c in commands:
        entry = batch_entry(0, c)
        entry.pop("Id")
        ids.append(client.send_message(QueueUrl=queue.url, **entry)["MessageId"])
    return ids


def send_raw(client: Any, queue: EntityQueues, body: str, group: str = "lane-1") -> str:
    message_id: str = client.send_message(
        QueueUrl=queue.url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=str(uuid.uuid4())
    )["MessageId"]
    return message_id


def receive_event(
    client: Any, queue: EntityQueues, *, max_messages: int = 10, wait: int = 1, visibility: int | None = None
) -> dict[str, Any]:
    """Receive like the SQS event source does and build the event it would send."""
    kwargs: dict[str, Any] = {}
    if visibility is not None:
        kwargs["VisibilityTimeout"] = visibility
    messages: list[dict[str, Any]] = []
    while len(messages) < max_messages:
        got = client.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=min(10, max_messages - len(messages)),
            WaitTimeSeconds=0 if messages else wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            **kwargs,
        ).get("Messages", [])
        if not got:
            break
        RECEIVED.extend((queue.url, m["ReceiptHandle"]) for m in got)
        messages += got
    return sqs_event(messages, arn=queue.arn, region="us-east-1")


def settle(client: Any, queue: EntityQueues, event: dict[str, Any], response: dict[str, Any]) -> None:
    """What the event source does after an invocation: delete what succeeded, and (at
    once, as if its visibility timeout had run out) hand back what failed."""
    failed = failed_ids(response)
    for record in event["Records"]:
        if record["messageId"] in failed:
            client.change_message_visibility(
                QueueUrl=queue.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )
        else:
            client.delete_message(QueueUrl=queue.url, ReceiptHandle=record["receiptHandle"])


def deliver(
    handler: Any, client: Any, queue: EntityQueues, **receive: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One poll of the event source: receive a batch, invoke, settle; the event and the response."""
    event = receive_event(client, queue, **receive)
    response: dict[str, Any] = handler(event, Context())
    settle(client, queue, event, response)
    return event, response


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {f["itemIdentifier"] for f in response["batchItemFailures"]}


def bodies(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in event["Records"]]


def rows(database: Database, table: str, *, alive_only: bool = True) -> dict[str, dict[str, Any]]:
    where = "WHERE alive" if alive_only else ""
    cursor = database.connection().execute(f'SELECT * FROM "{table}" {where} ORDER BY id')  # type: ignore[arg-type]
    names = [c.name for c in cursor.description or []]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cursor.fetchall()}


def log(database: Database, entity: str) -> list[dict[str, Any]]:
    """The entity's command log, oldest first."""
    cursor = database.connection().execute(  # type: ignore[call-overload]
        f'SELECT command_id, key, scope, op, status, reason, cause, outbox FROM "{entity}__commands" '
        "ORDER BY seq"
    )
    names = [c.name for c in cursor.description or []]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def failures(database: Database, entity: str) -> dict[str, str]:
    cursor = database.connection().execute(f'SELECT message_id, reason FROM "{entity}__failures" ORDER BY id')  # type: ignore[arg-type]
    return dict(cursor.fetchall())


class Context:
    """The parts of a Lambda context Powertools reads."""

    function_name = "test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:test"
    aws_request_id = "test-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


CUSTOMER = {"email": "ann@example.com", "name": "Ann"}


# What the tests' events say verified them: an issuer per population (AWS's API Gateway can't
# run here; the api reads claims it is handed, and these are the claims it would be handed).
TEST_ISSUERS = {
    USERS: "https://issuer.test.invalid/users",
    OPERATORS: "https://issuer.test.invalid/operators",
}
USER = "tester"
OPERATOR = "tester-operator"


def claims(kind: str, subject: str) -> dict[str, str]:
    """Verified claims as an HTTP API event carries them (strings), Cognito's names."""
    return {
        "sub": subject,
        "iss": TEST_ISSUERS[kind],
        "client_id": f"test-{kind}",
        "token_use": "access",
        "username": subject,
        "exp": "4102444800",
        "iat": "1700000000",
    }


def api_event(
    registry: Registry,
    method: str,
    path: str,
    *,
    as_user: str = USER,
    kind: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """An HTTP API event as the gateway hands it on after the route's authorizer admitted the
    request: an end user's claims (`as_user` is their sub) or an operator's, per the route."""
    match = RouteTable(api_routes(registry)).match(method, path.split("?", 1)[0])
    assert match is not None
    kind = kind or match.route.authorizer
    authorizer = None
    if kind is not None:
        subject = as_user if kind == USERS else OPERATOR
        authorizer = {"jwt": {"claims": claims(kind, subject), "scopes": None}}
    return http_event(
        method,
        path,
        route_key=match.route.key,
        path_parameters=match.path_parameters or None,
        authorizer=authorizer,
        **options,
    )
