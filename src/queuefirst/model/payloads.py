"""Validating what a command carries, the same way at the api and at the worker.

A create carries every writable field (defaults filled in) plus the parent
reference; an update carries any non-empty subset of the writable fields and
never the parent; an action carries its input model. Validation is strict,
as JSON is: no string passes for a number, no number for a boolean, and no
text a row cannot hold passes anywhere in a payload
(`queuefirst.model.validation`). The pydantic models built here are also the
api's request bodies, so the OpenAPI document and the worker's checks come
from one declaration; `validate_payload` and `validate_key` are what the api,
the console and the worker call.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from queuefirst.model.actions import Admitted
from queuefirst.model.command import ADMIT, CREATE, DELETE, UPDATE, WITHDRAW
from queuefirst.model.declarations import Declaration
from queuefirst.model.entity import Entity
from queuefirst.model.validation import ID_PATTERN, UNSTORABLE, is_id, unstorable_text

IdField = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=128)]
STRICT = ConfigDict(extra="forbid", strict=True)


class PayloadError(ValueError):
    """A payload that does not fit its entity; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    @classmethod
    def from_validation(cls, error: ValidationError, prefix: str = "") -> PayloadError:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "body"
        return cls(prefix + location, first["msg"])


def _title(entity: Entity, suffix: str) -> str:
    return entity.name.title().replace("_", "") + suffix


def _field(entity: Entity, name: str) -> tuple[Any, Any]:
    info = entity.fields.model_fields[name]
    return (info.annotation, info)


def _optional(entity: Entity, name: str) -> tuple[Any, Any]:
    # Omitted means "leave as is"; an explicit null is accepted only where the
    # field itself is nullable (pydantic does not validate the default).
    info = entity.fields.model_fields[name]
    inner = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    return (inner, Field(default=None, description=info.description))


class _AtLeastOneField(BaseModel):
    model_config = ConfigDict(**STRICT, json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _not_empty(self) -> _AtLeastOneField:
        if not self.model_fields_set:
            raise ValueError("an update must change at least one field")
        return self


@cache
def create_body_model(entity: Entity) -> type[BaseModel]:
    """POST body: the writable fields, an optional client id, the parent reference."""
    fields: dict[str, Any] = {name: _field(entity, name) for name in entity.writable_fields}
    fields["id"] = (IdField | None, None)
    if entity.parent_field:
        fields[entity.parent_field] = (IdField, ...)
    model: type[BaseModel] = create_model(_title(entity, "Create"), __config__=STRICT, **fields)
    return model


@cache
def writable_model(entity: Entity) -> type[BaseModel]:
    """The writable fields, as a create sets them (defaults fill the missing)."""
    fields: dict[str, Any] = {name: _field(entity, name) for name in entity.writable_fields}
    model: type[BaseModel] = create_model(_title(entity, "Fields"), __config__=STRICT, **fields)
    return model


@cache
def patch_body_model(entity: Entity) -> type[BaseModel]:
    """PATCH body: a non-empty subset of the fields an update may change."""
    fields = {name: _optional(entity, name) for name in entity.updatable_fields}
    return create_model(  # type: ignore[call-overload, no-any-return]
        _title(entity, "Patch"), __base__=_AtLeastOneField, **fields
    )


@cache
def action_body_model(action: Declaration) -> type[BaseModel]:
    """POST body of a public action: its input model, strict as JSON is (no coercion)."""
    # Same name, so the OpenAPI document keeps calling it what the entity module does.
    source = action.input
    namespace = {"model_config": STRICT, "__module__": source.__module__, "__doc__": source.__doc__}
    model: type[BaseModel] = type(source.__name__, (source,), namespace)
    return model


@cache
def row_model(entity: Entity) -> type[BaseModel]:
    """A row as reads return it: the id, the parent reference and every field."""
    fields: dict[str, Any] = {"id": (str, ...)}
    if entity.parent_field:
        fields[entity.parent_field] = (str, ...)
    fields |= {name: _field(entity, name) for name in entity.field_names}
    model: type[BaseModel] = create_model(_title(entity, ""), __base__=entity.fields, **fields)
    return model


def _strict(model: type[BaseModel], payload: dict[str, Any], prefix: str = "") -> BaseModel:
    # JSON-mode validation: strict as JSON is, and dates or UUIDs still parse from strings.
    try:
        return model.model_validate_json(json.dumps(payload), strict=True)
    except ValidationError as error:
        raise PayloadError.from_validation(error, prefix) from error


def validate_create(entity: Entity, payload: dict[str, Any]) -> dict[str, Any]:
    """Every writable field with defaults applied, plus the parent reference."""
    values = dict(payload)
    parent_id = values.pop(entity.parent_field, None) if entity.parent_field else None
    if entity.parent_field and not isinstance(parent_id, str):
        raise PayloadError(entity.parent_field, "required: the id of the parent")
    unknown = sorted(set(values) - set(entity.writable_fields))
    if unknown:
        reason = "set by actions only" if unknown[0] in entity.set_by_actions else "unknown field"
        raise PayloadError(unknown[0], reason)
    result = _strict(writable_model(entity), values).model_dump(mode="json")
    if entity.parent_field:
        result[entity.parent_field] = parent_id
    return result


def validate_update(entity: Entity, payload: dict[str, Any]) -> dict[str, Any]:
    """Only the fields present, each checked against its declaration."""
    if entity.parent_field and entity.parent_field in payload:
        raise PayloadError(entity.parent_field, "the parent of a row cannot change")
    by_actions = sorted(set(payload) & set(entity.set_by_actions))
    if by_actions:
        raise PayloadError(by_actions[0], "set by actions only")
    fixed = sorted(set(payload) & set(entity.fixed))
    if fixed:
        raise PayloadError(fixed[0], "set when the row is created, never changed")
    if not payload:
        raise PayloadError("body", "an update must change at least one field")
    return _strict(patch_body_model(entity), payload).model_dump(mode="json", exclude_unset=True)


def validate_action(entity: Entity, op: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An action's input, or an answer's (what the answered entity sends back up)."""
    declared = entity.actions.get(op) or entity.answer_handlers.get(op)
    if declared is None:
        known = ", ".join([CREATE, UPDATE, DELETE, *entity.actions, *entity.answer_handlers])
        raise PayloadError("op", f"{entity.name} has no action or answer {op!r}; it has {known}")
    return _strict(declared.input, payload).model_dump(mode="json")


@cache
def granted_model(entity: Entity) -> type[BaseModel]:
    """What an admitting parent may grant a create: any of the fields set by actions only."""
    fields = {name: _optional(entity, name) for name in entity.set_by_actions}
    return create_model(_title(entity, "Granted"), __config__=STRICT, **fields)  # type: ignore[call-overload, no-any-return]


def validate_granted(entity: Entity, granted: dict[str, Any]) -> dict[str, Any]:
    return _strict(granted_model(entity), granted, "granted.").model_dump(mode="json", exclude_unset=True)


class _Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ask: str = Field(pattern=r"^[0-9a-f-]{36}$")
    op: str
    given: dict[str, Any] = Field(default_factory=dict)


def validate_key(key: str, field: str = "id") -> str:
    """The id of a new row, whoever named it (a client, an end user's subject, a minted one)."""
    if not is_id(key):
        raise PayloadError(field, f"{key!r} is not an id: ids match {ID_PATTERN}")
    return key


def validate_payload(entity: Entity, op: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload of `op` on one row of `entity`, validated (a delete carries none)."""
    validated = _validate_op(entity, op, payload)
    where = unstorable_text(validated)
    if where is not None:
        # Refused here, by the producer, rather than by the database once the command is queued.
        raise PayloadError(where or "body", UNSTORABLE)
    return validated


def _validate_op(entity: Entity, op: str, payload: dict[str, Any]) -> dict[str, Any]:
    if op == CREATE:
        return validate_create(entity, payload)
    if op == UPDATE:
        return validate_update(entity, payload)
    if op == DELETE:
        if payload:
            raise PayloadError("payload", "a delete carries no payload")
        return {}
    if op == ADMIT:
        if not entity.admissions:
            raise PayloadError("op", f"{entity.name} admits no child's writes")
        return _lax(Admitted, payload)
    if op == WITHDRAW:
        return _lax(_Withdrawal, payload)
    return validate_action(entity, op, payload)


def _lax(model: type[BaseModel], payload: dict[str, Any]) -> dict[str, Any]:
    # The kit's own envelopes (an admission's child write is validated by the child, a
    # withdrawal's input by its undo): only their shape is checked here.
    try:
        return model.model_validate(payload).model_dump(mode="json")
    except ValidationError as error:
        raise PayloadError.from_validation(error) from error
