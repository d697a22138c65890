"""Shared test helpers: real SQS messages turned into real Lambda event shapes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from queuefirst.local.events import sqs_event
from queuefirst.local.queues import EntityQueues
from queuefirst.model.command import Command, Op


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
        messages += got
    return sqs_event(messages, arn=queue.arn, region="us-east-1")


def send_raw(client: Any, queue: EntityQueues, body: str) -> str:
    message_id: str = client.send_message(QueueUrl=queue.url, MessageBody=body)["MessageId"]
    return message_id


def command(
    entity: str, op: str, key: str, version: int, payload: dict[str, Any] | None = None, **extra: Any
) -> Command:
    return Command(
        command_id=uuid.uuid4(),
        entity=entity,
        op=Op(op),
        key=key,
        version=version,
        payload=payload or {},
        **extra,
    )


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {f["itemIdentifier"] for f in response["batchItemFailures"]}


def bodies(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in event["Records"]]


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
