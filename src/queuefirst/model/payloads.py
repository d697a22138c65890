"""Validating what a command carries, the same way at the api and at the worker.

A create carries every field (defaults filled in) plus the parent reference;
an update carries any subset of fields and never the parent. The pydantic
models built here are also the api's request bodies, so the OpenAPI document
and the worker's checks come from one declaration.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from queuefirst.model.entity import Entity

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
IdField = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=128)]


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


def _optional(entity: Entity, name: str) -> tuple[Any, Any]:
    # Omitted means "leave as is"; an explicit null is accepted only where the
    # field itself is nullable (pydantic does not validate the default).
    info = entity.fields.model_fields[name]
    inner = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    return (inner, Field(default=None, description=info.description))


@cache
def create_body_model(entity: Entity) -> type[BaseModel]:
    """POST body: the entity's fields, an optional client id, the parent reference.

    Unknown fields are refused rather than dropped, so a typo is a 422.
    """
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in entity.fields.model_fields.items()
    }
    fields["id"] = (IdField | None, None)
    if entity.parent_field:
        fields[entity.parent_field] = (IdField, ...)
    return create_model(
        f"{entity.name.title().replace('_', '')}Create",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )


@cache
def patch_body_model(entity: Entity) -> type[BaseModel]:
    """PATCH body: any subset of the fields; unknown fields are refused."""
    fields = {name: _optional(entity, name) for name in entity.field_names}
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{entity.name.title().replace('_', '')}Patch",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )


def validate_create(entity: Entity, payload: dict[str, Any]) -> dict[str, Any]:
    """Every field with defaults applied, plus the parent reference."""
    values = dict(payload)
    parent_id = values.pop(entity.parent_field, None) if entity.parent_field else None
    if entity.parent_field and not isinstance(parent_id, str):
        raise PayloadError(entity.parent_field, "required: the id of the parent")
    try:
        model = entity.fields.model_validate(values, strict=False)
    except ValidationError as error:
        raise PayloadError.from_validation(error) from error
    unknown = set(values) - set(entity.field_names)
    if unknown:
        raise PayloadError(sorted(unknown)[0], "unknown field")
    result = model.model_dump(mode="json")
    if entity.parent_field:
        result[entity.parent_field] = parent_id
    return result


def validate_update(entity: Entity, payload: dict[str, Any]) -> dict[str, Any]:
    """Only the fields present, each checked against its declaration."""
    if entity.parent_field and entity.parent_field in payload:
        raise PayloadError(entity.parent_field, "the parent of a row cannot change")
    if not payload:
        raise PayloadError("body", "an update must change at least one field")
    try:
        model = patch_body_model(entity).model_validate(payload)
    except ValidationError as error:
        raise PayloadError.from_validation(error) from error
    return model.model_dump(mode="json", exclude_unset=True)
