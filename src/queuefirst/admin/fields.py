"""Form fields generated from an entity's (or an action's) pydantic model.

A form sends text; the api takes JSON. This module only turns each text into
the JSON type its field declares (a whole number, a boolean, null for an
emptied optional field) and says which field could not be read. Every rule
beyond the type (patterns, lengths, ranges, the entity's own checks) is left
to the api's validation, which the console calls as the api does, so both
refuse the same things with the same messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

TEXT, INTEGER, NUMBER, BOOLEAN, CHOICE = "text", "integer", "number", "boolean", "choice"


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str
    required: bool
    nullable: bool
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str | None = None

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()


def _field(name: str, schema: Mapping[str, Any], required: bool) -> FormField:
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    nullable = len(options) < len(schema.get("anyOf", [schema]))
    kind_schema = options[0] if len(options) == 1 else {}
    choices: tuple[str, ...] = ()
    if "enum" in kind_schema:
        kind, choices = CHOICE, tuple(str(v) for v in kind_schema["enum"])
    else:
        kind = {"integer": INTEGER, "number": NUMBER, "boolean": BOOLEAN}.get(
            kind_schema.get("type", ""), TEXT
        )
    minimum = kind_schema.get("minimum", kind_schema.get("exclusiveMinimum"))
    maximum = kind_schema.get("maximum", kind_schema.get("exclusiveMaximum"))
    return FormField(
        name=name,
        kind=kind,
        required=required,
        nullable=nullable,
        choices=choices,
        max_length=kind_schema.get("maxLength"),
        minimum=minimum,
        maximum=maximum,
        description=schema.get("description") or kind_schema.get("description"),
    )


@cache
def form_fields(model: type[BaseModel], names: tuple[str, ...] | None = None) -> tuple[FormField, ...]:
    """The model's fields (or only `names`, in that order) as form fields."""
    schema = model.model_json_schema()
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    chosen = names if names is not None else tuple(properties)
    return tuple(_field(name, properties[name], name in required) for name in chosen if name in properties)


def parse_form(fields: Iterable[FormField], form: Mapping[str, str], *, keep_empty: bool) -> dict[str, Any]:
    """The form's values typed as their fields declare.

    An empty text leaves a field out (a create then takes its default), or,
    with `keep_empty` (an edit, where every field is shown), sets a nullable
    field to null and leaves a non-nullable text field empty for validation
    to judge.
    """
    values: dict[str, Any] = {}
    for field in fields:
        raw = form.get(field.name)
        if raw is None:
            continue
        text = raw.strip() if field.kind != TEXT else raw
        if text == "":
            if keep_empty:
                values[field.name] = None if field.nullable else ("" if field.kind == TEXT else None)
            continue
        values[field.name] = _typed(field, text)
    return values


def _typed(field: FormField, text: str) -> Any:
    if field.kind == INTEGER:
        try:
            return int(text)
        except ValueError:
            raise FormError(field.name, f"{text!r} is not a whole number") from None
    if field.kind == NUMBER:
        try:
            return float(text)
        except ValueError:
            raise FormError(field.name, f"{text!r} is not a number") from None
    if field.kind == BOOLEAN:
        if text not in ("true", "false"):
            raise FormError(field.name, "choose yes or no")
        return text == "true"
    return text


def as_text(value: Any) -> str:
    """A stored value as a form shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
