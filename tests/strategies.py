"""Hypothesis strategies for request bodies the api's own models accept, drawn from their JSON Schema.

Only what the entities' models use: objects with required and optional
properties (`minProperties`), strings (pattern, length), integers (bounds),
booleans, and `anyOf` with null.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel


def valid_body(model: type[BaseModel], **fixed: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies `model` validates; `fixed` sets properties to given values."""
    schema = model.model_json_schema()
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", [])) | set(fixed)
    drawn = {name: value_of(prop) for name, prop in properties.items() if name not in fixed and name != "id"}
    minimum = schema.get("minProperties", 0)

    @st.composite
    def body(draw: st.DrawFn) -> dict[str, Any]:
        chosen = {name: draw(strategy) for name, strategy in drawn.items() if name in required}
        optional = [name for name in drawn if name not in required]
        for name in draw(st.lists(st.sampled_from(optional), unique=True) if optional else st.just([])):
            chosen[name] = draw(drawn[name])
        if len(chosen) + len(fixed) < minimum and optional:
            name = draw(st.sampled_from(optional))
            chosen[name] = draw(drawn[name])
        return {**chosen, **fixed}

    return body()


def value_of(prop: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "anyOf" in prop:
        return st.one_of([value_of(variant) for variant in prop["anyOf"]])
    kind = prop.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        if "minimum" in prop:
            low = prop["minimum"]
        else:
            low = prop["exclusiveMinimum"] + 1 if "exclusiveMinimum" in prop else -(2**31)
        return st.integers(min_value=low, max_value=prop.get("maximum", 2**31))
    if kind == "string":
        return _text(prop)
    if "enum" in prop:
        return st.sampled_from(prop["enum"])
    if "const" in prop:
        return st.just(prop["const"])
    raise NotImplementedError(f"no strategy for {prop}")


def _text(prop: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = prop.get("minLength", 0), prop.get("maxLength", 200)
    if "pattern" in prop:
        strategy = st.from_regex(prop["pattern"], fullmatch=True)
    else:
        strategy = st.text(min_size=low, max_size=min(high, 50))
    # The api refuses NUL in text (PostgreSQL cannot store it).
    return strategy.filter(lambda text: low <= len(text) <= high and "\x00" not in text)
