"""Turning an SQS message body into a command this worker may apply.

Everything here is a pure function of the message and the entity: no clock,
no ids, no I/O. A message that fails here is malformed: it is reported
failed with its reason, so SQS redelivers it and finally moves it to the
dead-letter queue, where an operator sees why.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from queuefirst.model.command import CREATE, Command, Scope
from queuefirst.model.entity import Entity
from queuefirst.model.payloads import PayloadError, validate_granted, validate_payload
from queuefirst.model.trail import TrailError, check_answer, check_down
from queuefirst.model.validation import ID_PATTERN, is_id


class Malformed(ValueError):
    """A message this worker can never apply, with the reason why."""


def decode(entity: Entity, body: str) -> Command:
    try:
        command = Command.from_json(body)
    except ValidationError as error:
        raise Malformed(f"malformed command: {PayloadError.from_validation(error)}") from error
    if command.entity != entity.name:
        raise Malformed(f"command for {command.entity} reached the {entity.name} worker")
    try:
        if command.op in entity.answer_handlers:
            check_answer(entity.name, command)
        else:
            check_down(entity.name, command)
    except TrailError as error:
        raise Malformed(str(error)) from error
    _check_lane(entity, command)
    # The producers' own validation, run again: what they accepted applies, what slipped past
    # them (another producer, an older image) is refused here with the same reason.
    if command.op == CREATE and not is_id(command.key):
        raise Malformed(f"invalid id {command.key!r}: ids match {ID_PATTERN}")
    try:
        payload = validate_payload(entity, command.op, command.payload)
        granted = _granted(entity, command)
    except PayloadError as error:
        raise Malformed(f"invalid payload: {error.field}: {error.message}") from error
    return command.model_copy(update={"payload": payload, "granted": granted})


def _granted(entity: Entity, command: Command) -> dict[str, Any]:
    """What an admitting parent granted a create: only a create, only from its parent."""
    if not command.granted:
        return {}
    admitted = command.op == CREATE and bool(command.trail) and command.trail[-1].entity == entity.parent
    if not admitted:
        raise PayloadError("granted", "only a create its parent admitted carries granted values")
    return validate_granted(entity, command.granted)


def _check_lane(entity: Entity, command: Command) -> None:
    if command.scope is Scope.CHILDREN:
        if entity.parent is None:
            raise Malformed(f"{entity.name} has no parent: nothing is under a {command.key}")
        return
    if entity.parent is None:
        if command.parent is not None:
            raise Malformed(f"{entity.name} has no parent, but the command names parent {command.parent}")
        return
    if command.parent is None:
        raise Malformed(f"a command for one {entity.name} row must name its parent ({entity.parent_field})")
    named = command.payload.get(entity.parent_field or "") if command.op == CREATE else command.parent
    if named != command.parent:
        raise Malformed(
            f"the create names {entity.parent_field}={named} but travels under parent {command.parent}"
        )
