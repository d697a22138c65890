"""A request body, checked before the resolver sees it.

The resolver would parse any body it is handed, as deep and as large as it
comes, with whatever content type: a body 10,000 arrays deep made Python's
parser recurse out of its stack, and a multipart type without a boundary
crashed the resolver. So every body, on every route, is held here to what
the api accepts (UTF-8 JSON, an object, at most `max_bytes`, nested at most
`MAX_DEPTH` deep) and refused with a 4xx naming the body otherwise.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from queuefirst.api.errors import BadRequest, Invalid, PayloadTooLarge, UnsupportedMediaType

# Bodies are flat objects of fields; a little nesting is for future list fields.
MAX_DEPTH = 32
JSON_TYPES = ("application/json",)


def check_body(event: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """The event with its body as canonical JSON text, or the ApiError that refuses the body.

    Canonical: integral numbers written as integers (JSON has one number type,
    so `2.0` is the integer 2, as JSON Schema reads it too), as plain UTF-8 text.
    """
    body = event.get("body")
    if not body:
        return event
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except (ValueError, binascii.Error):
        raise BadRequest("body is not valid base64", field="body") from None
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"body is {len(raw)} bytes; the limit is {max_bytes}", field="body")
    content_type = _header(event, "content-type").split(";", 1)[0].strip().lower()
    if content_type and content_type not in JSON_TYPES:
        raise UnsupportedMediaType(
            f"content type {content_type!r} is not accepted: send application/json", field="content-type"
        )
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8 text", field="body") from None
    if nesting_depth(text) > MAX_DEPTH:
        raise BadRequest(f"body is nested deeper than {MAX_DEPTH} levels", field="body")
    try:
        value = json.loads(text, parse_float=_number, parse_constant=_not_json)
        canonical = json.dumps(value, ensure_ascii=False, allow_nan=False)
        canonical.encode()  # a lone surrogate escape (`"\ud800"`) is no Unicode text
    except (ValueError, RecursionError):
        raise BadRequest("body is not valid JSON", field="body") from None
    except UnicodeEncodeError:
        raise BadRequest("body holds an invalid Unicode escape", field="body") from None
    if not isinstance(value, dict):
        raise Invalid("body must be a JSON object", field="body")
    return {**event, "body": canonical, "isBase64Encoded": False}


def _number(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() else number


def _not_json(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text, without parsing it."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # the common case: too few brackets to be too deep, whatever their order
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _header(event: dict[str, Any], name: str) -> str:
    value = (event.get("headers") or {}).get(name, "")
    return value if isinstance(value, str) else ""
