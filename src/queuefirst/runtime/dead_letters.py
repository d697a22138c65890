"""Dead letters: list, inspect with the reason each failed, redrive.

Used by the operator's `queuefirst dlq` commands and by the admin console
(which also discards one, once an operator confirmed it).

Redrive receives from the dead-letter queue, sends each chosen message back
to its source queue and only then deletes it, so a crash in between
duplicates a message (which the worker skips) and never loses one. It does
not rely on `StartMessageMoveTask`, so it works the same on AWS and on
moto's server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg import sql

from queuefirst.model.errors import QueuefirstError
from queuefirst.model.limits import SQS_BATCH_LIMIT
from queuefirst.model.names import dead_letter_queue_name, queue_name
from queuefirst.store.database import Database
from queuefirst.store.tables import TableNames

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

PEEK_SECONDS = 30


def queue_depth(client: SQSClient, url: str) -> int:
    """Messages visible in a queue now (SQS's approximate count)."""
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, Any]
    message_attributes: dict[str, Any]
    reason: str | None = None

    def summary(self) -> dict[str, Any]:
        try:
            command = json.loads(self.body)
        except json.JSONDecodeError:
            command = {}
        fields = ("command_id", "op", "key", "version") if isinstance(command, dict) else ()
        return {
            "message_id": self.message_id,
            **{k: command.get(k) for k in fields if k in command},
            "receive_count": self.attributes.get("ApproximateReceiveCount"),
            "reason": self.reason or "unknown (no failure recorded for this message)",
        }


def _redriven(index: int, letter: DeadLetter) -> Any:
    """The letter as its source queue takes it back: in its lane (message group), with its
    own message id to deduplicate on, since the command id may still be inside SQS's
    five-minute window and would make SQS drop the redrive without a word."""
    entry: dict[str, Any] = {
        "Id": str(index),
        "MessageBody": letter.body,
        "MessageAttributes": letter.message_attributes,
        "MessageDeduplicationId": letter.message_id,
    }
    group = letter.attributes.get("MessageGroupId")
    if group:
        entry["MessageGroupId"] = group
    return entry


class DeadLetters:
    def __init__(self, client: SQSClient, app: str, database: Database | None = None) -> None:
        self.client = client
        self.app = app
        self.database = database

    def url(self, entity: str, *, dead: bool = True) -> str:
        name = dead_letter_queue_name(self.app, entity) if dead else queue_name(self.app, entity)
        return self.client.get_queue_url(QueueName=name)["QueueUrl"]

    def depth(self, entity: str) -> int:
        return queue_depth(self.client, self.url(entity))

    def peek(self, entity: str, limit: int = 100) -> list[DeadLetter]:
        """Read without consuming: received, then made visible again at once."""
        letters = self._receive(entity, limit)
        self._release(entity, letters)
        return letters

    def redrive(
        self,
        entity: str,
        message_ids: Iterable[str] | None = None,
        *,
        dry_run: bool = False,
        limit: int = 1000,
    ) -> list[DeadLetter]:
        wanted = set(message_ids) if message_ids is not None else None
        letters = self._receive(entity, limit)
        chosen = [m for m in letters if wanted is None or m.message_id in wanted]
        others = [m for m in letters if m not in chosen]
        if dry_run:
            self._release(entity, letters)
            return chosen
        self._release(entity, others)
        source, dead = self.url(entity, dead=False), self.url(entity)
        moved: list[DeadLetter] = []
        for start in range(0, len(chosen), SQS_BATCH_LIMIT):
            chunk = chosen[start : start + SQS_BATCH_LIMIT]
            sent = self.client.send_message_batch(
                QueueUrl=source, Entries=[_redriven(i, m) for i, m in enumerate(chunk)]
            )
            # Delete only what reached the source queue; the rest stays dead.
            ok = [chunk[int(entry["Id"])] for entry in sent.get("Successful", [])]
            if ok:
                self.client.delete_message_batch(
                    QueueUrl=dead,
                    Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(ok)],
                )
            moved += ok
        self._release(entity, [m for m in chosen if m not in moved])
        return moved

    def discard(self, entity: str, message_ids: Iterable[str], *, limit: int = 1000) -> list[DeadLetter]:
        """Delete the named dead letters for good (an operator confirmed it); the rest stay."""
        wanted = set(message_ids)
        letters = self._receive(entity, limit)
        chosen = [m for m in letters if m.message_id in wanted]
        self._release(entity, [m for m in letters if m not in chosen])
        dead = self.url(entity)
        for start in range(0, len(chosen), SQS_BATCH_LIMIT):
            chunk = chosen[start : start + SQS_BATCH_LIMIT]
            self.client.delete_message_batch(
                QueueUrl=dead,
                Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(chunk)],
            )
        return chosen

    def _receive(self, entity: str, limit: int) -> list[DeadLetter]:
        url = self.url(entity)
        seen: dict[str, DeadLetter] = {}
        while len(seen) < limit:
            messages = self.client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=SQS_BATCH_LIMIT,
                WaitTimeSeconds=0,
                VisibilityTimeout=PEEK_SECONDS,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                break
            for m in fresh:
                seen[m["MessageId"]] = DeadLetter(
                    m["MessageId"],
                    m["ReceiptHandle"],
                    m["Body"],
                    {str(k): v for k, v in m.get("Attributes", {}).items()},
                    {
                        k: {
                            kk: vv for kk, vv in v.items() if kk in ("DataType", "StringValue", "BinaryValue")
                        }
                        for k, v in m.get("MessageAttributes", {}).items()
                    },
                )
        reasons, missing = self._reasons(entity, list(seen))
        return [
            DeadLetter(**{**letter.__dict__, "reason": reasons.get(letter.message_id, missing)})
            for letter in seen.values()
        ]

    def _release(self, entity: str, letters: list[DeadLetter]) -> None:
        url = self.url(entity)
        for start in range(0, len(letters), SQS_BATCH_LIMIT):
            chunk = letters[start : start + SQS_BATCH_LIMIT]
            self.client.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )

    def _reasons(self, entity: str, message_ids: list[str]) -> tuple[dict[str, str], str | None]:
        """Why each message failed, as its worker recorded it; and what to say when unknown."""
        if self.database is None:
            return {}, "unknown (no database to read failure reasons from)"
        if not message_ids:
            return {}, None
        query = sql.SQL("SELECT message_id, reason FROM {} WHERE message_id = ANY(%s) ORDER BY id").format(
            sql.Identifier(TableNames(entity).failures)
        )
        try:
            with self.database.reading() as conn:
                rows = conn.execute(query, [message_ids]).fetchall()
        except QueuefirstError as error:
            # The letters are still worth showing; say why their reasons are not.
            return {}, f"unknown (failure reasons unreadable: {type(error).__name__})"
        return {message_id: reason for message_id, reason in rows}, None  # the last one wins
