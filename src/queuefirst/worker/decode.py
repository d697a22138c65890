"""Turning an SQS message body into a command this worker may apply.

Everything here is a pure function of the message and the entity: no clock,
no ids, no I/O. A message that fails here is reported failed with its reason,
so SQS redelivers it and finally moves it to the dead-letter queue.
"""

from __future__ import annotations

from pydantic import ValidationError

from queuefirst.model.command import Command, Op
from queuefirst.model.entity import Entity
from queuefirst.model.payloads import PayloadError, validate_create, validate_update


class CommandRejected(ValueError):
    """A message this worker will never be able to apply, with the reason why."""


def decode(entity: Entity, body: str) -> Command:
    try:
        command = Command.from_json(body)
    except ValidationError as error:
        raise CommandRejected(f"malformed command: {PayloadError.from_validation(error)}") from error
    if command.entity != entity.name:
        raise CommandRejected(f"command for {command.entity} reached the {entity.name} worker")
    if command.visited(entity.name):
        trail = " -> ".join(step.entity for step in command.trail)
        raise CommandRejected(f"causation trail revisits {entity.name}: {trail} -> {entity.name}")
    try:
        payload = _payload(entity, command)
    except PayloadError as error:
        raise CommandRejected(f"invalid payload: {error.field}: {error.message}") from error
    return command.model_copy(update={"payload": payload})


def _payload(entity: Entity, command: Command) -> dict[str, object]:
    if command.op is Op.CREATE:
        return validate_create(entity, command.payload)
    if command.op is Op.UPDATE:
        return validate_update(entity, command.payload)
    if command.payload:
        raise PayloadError("payload", f"a {command.op.value} carries no payload")
    if command.op is Op.PURGE and entity.parent is None:
        raise PayloadError("op", f"{entity.name} has no parent to cascade from")
    return {}
