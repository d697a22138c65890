"""Sending commands to an entity's FIFO queue with boto3.

Each command travels in its lane's message group and is deduplicated by its
id, so a re-sent ask within SQS's five-minute window is dropped by SQS, and
one after it by the receiving worker's log. The endpoint comes from
settings, so the local SQS server and AWS are the same code.

boto3 is imported, and the client made, on the first send: a worker whose
first batch asks nothing, and an api whose first request is a read, start
without paying for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from queuefirst.model.command import Command
from queuefirst.model.limits import SQS_BATCH_LIMIT
from queuefirst.model.names import queue_name

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SendError(RuntimeError):
    """Some commands could not be enqueued; `failed` holds their ids."""

    def __init__(self, failed: dict[str, str]) -> None:
        super().__init__(f"{len(failed)} command(s) not sent: {sorted(failed.items())[:3]}")
        self.failed = failed


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
        """Send in order: per queue, in batches of ten that SQS keeps in order per group."""
        by_entity: dict[str, list[Command]] = {}
        for command in commands:
            if self.allowed is not None and command.entity not in self.allowed:
                raise ForbiddenTarget(f"may not send to {command.entity}; allowed: {sorted(self.allowed)}")
            by_entity.setdefault(command.entity, []).append(command)
        failed: dict[str, str] = {}
        for entity, group in by_entity.items():
            url = self.queue_url(entity)
            for start in range(0, len(group), SQS_BATCH_LIMIT):
                chunk = group[start : start + SQS_BATCH_LIMIT]
                response = self.client.send_message_batch(
                    QueueUrl=url, Entries=[batch_entry(i, c) for i, c in enumerate(chunk)]
                )
                for failure in response.get("Failed", []):
                    failed[str(chunk[int(failure["Id"])].command_id)] = failure.get("Message", "")
                if failed:
                    raise SendError(failed)  # later commands wait: their order must hold


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
