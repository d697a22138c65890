"""Which PostgreSQL type holds each field, read from the field's JSON schema.

One answer serves the schema (and so the migrations) and the statements the
functions run, so the two cannot disagree.
"""

from __future__ import annotations

import typing

from pydantic import BaseModel, TypeAdapter

TEXT, BIGINT, BOOLEAN, DOUBLE, DATE, TIMESTAMPTZ, JSONB = (
    "text",
    "bigint",
    "boolean",
    "double precision",
    "date",
    "timestamptz",
    "jsonb",
)


def column_kind(annotation: object) -> str:
    # The field's JSON schema says what it holds, whatever the Python spelling
    # (EmailStr, Literal, Annotated constraints, Optional).
    schema = TypeAdapter[typing.Any](annotation).json_schema()  # type: ignore[arg-type]
    kinds = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    kind = kinds[0] if len(kinds) == 1 else {}
    if "enum" in kind or "const" in kind:
        return TEXT
    match kind.get("type"), kind.get("format"):
        case "string", "date-time":
            return TIMESTAMPTZ
        case "string", "date":
            return DATE
        case "string", _:
            return TEXT
        case "integer", _:
            return BIGINT
        case "boolean", _:
            return BOOLEAN
        case "number", _:
            return DOUBLE
    return JSONB


def field_kinds(fields: type[BaseModel]) -> dict[str, str]:
    return {name: column_kind(info.annotation) for name, info in fields.model_fields.items()}
