"""Sending commands to an entity's FIFO queue with boto3.

Each command travels in its lane's message group and is deduplicated by its
id, so a re-sent ask within SQS's five-minute window is dropped by SQS, and
one after it by the receiving worker's log. The endpoint comes from
settings, so the local SQS server and AWS are the same code.

boto3 is imported, and the client made, on the first send: a worker whose
first batch asks nothing, and an api whose first request is a read, start
without paying for them. Whatever SQS or the way to it answers, a failure
leaves as the kit's `SendError` (a `QueueUnavailable`), naming each command
not sent: never a botocore exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from queuefirst.model.command import Command
from queuefirst.model.errors import SendError
from queuefirst.model.limits import SQS_BATCH_LIMIT
from queuefirst.model.names import queue_name

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class ForbiddenTarget(RuntimeError):
    """A worker tried to send to an entity it neither owns as a child nor asks."""


def sqs_client(endpoint_url: str | None, region: str) -> SQSClient:
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=20)
    client: SQSClient = boto3.client("sqs", endpoint_url=endpoint_url, region_name=region, config=config)
    return client


class CommandSender:
    def __init__(
        self,
        client: SQSClient | Callable[[], SQSClient],
        app: str,
        *,
        allowed: Iterable[str] | None = None,
        queue_url_prefix: str | None = None,
    ) -> None:
        # A client, or what makes one when the first command is sent.
        self._client = client
        self.app = app
        # None: any entity (the api, the admin console); a worker passes what it may send to.
        self.allowed = None if allowed is None else frozenset(allowed)
        self.queue_url_prefix = queue_url_prefix
        self._urls: dict[str, str] = {}

    @property
    def client(self) -> SQSClient:
        if callable(self._client):
            self._client = self._client()
        return self._client

    def queue_url(self, entity: str) -> str:
        if entity not in self._urls:
            name = queue_name(self.app, entity)
            if self.queue_url_prefix:
                self._urls[entity] = self.queue_url_prefix.rstrip("/") + "/" + name
            else:
                self._urls[entity] = self.client.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[entity]

    def send(self, commands: Sequence[Command]) -> None:
        """Send in order: per queue, in batches of ten that SQS keeps in order per group.

        At the first failure nothing later is sent (its order must hold): `SendError`
        names the commands of the failed batch and every one after it."""
        by_entity: dict[str, list[Command]] = {}
        for command in commands:
            if self.allowed is not None and command.entity not in self.allowed:
                raise ForbiddenTarget(f"may not send to {command.entity}; allowed: {sorted(self.allowed)}")
            by_entity.setdefault(command.entity, []).append(command)
        chunks = [
            (entity, group[start : start + SQS_BATCH_LIMIT])
            for entity, group in by_entity.items()
            for start in range(0, len(group), SQS_BATCH_LIMIT)
        ]
        for index, (entity, chunk) in enumerate(chunks):
            refused = self._send_chunk(entity, chunk)
            if refused:
                later = {
                    str(c.command_id): "not sent: an earlier command was not"
                    for _, rest in chunks[index + 1 :]
                    for c in rest
                }
                raise SendError(refused | later)

    def _send_chunk(self, entity: str, chunk: list[Command]) -> dict[str, str]:
        """The commands of `chunk` SQS did not take, with why (none: all sent)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.send_message_batch(
                QueueUrl=self.queue_url(entity), Entries=[batch_entry(i, c) for i, c in enumerate(chunk)]
            )
        except (BotoCoreError, ClientError) as error:
            # Unreachable, throttled, the queue missing: none of the chunk is known sent.
            reason = f"{type(error).__name__}: {error}"
            return {str(c.command_id): reason for c in chunk}
        return {
            str(chunk[int(failure["Id"])].command_id): failure.get("Message", failure.get("Code", ""))
            for failure in response.get("Failed", [])
        }


def batch_entry(index: int, command: Command) -> Any:
    """One SendMessageBatch entry: the command in its lane, deduplicated by its id."""

    def attribute(value: str) -> dict[str, str]:
        return {"DataType": "String", "StringValue": value}

    return {
        "Id": str(index),
        "MessageBody": command.to_json(),
        "MessageGroupId": command.lane,
        "MessageDeduplicationId": str(command.command_id),
        "MessageAttributes": {
            "entity": attribute(command.entity),
            "op": attribute(command.op),
            "command_id": attribute(str(command.command_id)),
        },
    }
