"""Requests and responses of the admin function, as API Gateway's payload 2.0 carries them.

Every response carries a strict Content-Security-Policy: scripts, styles and
images from the function itself only, no inline code, no framing; and no page
is cached, since each shows data as it stands.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from queuefirst.api.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

FORM_TYPE = "application/x-www-form-urlencoded"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: str | bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def to_lambda(self) -> dict[str, Any]:
        headers = {**SECURITY_HEADERS, "Content-Type": self.content_type, **self.headers}
        if isinstance(self.body, bytes):
            body, encoded = base64.b64encode(self.body).decode(), True
        else:
            body, encoded = self.body, False
        return {"statusCode": self.status, "headers": headers, "body": body, "isBase64Encoded": encoded}


def parse_request(event: dict[str, Any], max_body_bytes: int) -> Request:
    """The event as a request; a body that is not a form within the size limit is refused."""
    context = event.get("requestContext") or {}
    method = str((context.get("http") or {}).get("method") or "GET").upper()
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    # Query values arrive comma-joined when repeated; the console never repeats one.
    query = {k: v for k, v in parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True)}
    path = unquote(str(event.get("rawPath") or "/"))
    return Request(method, path, query, headers, _form(event, headers, max_body_bytes))


def _form(event: dict[str, Any], headers: dict[str, str], max_body_bytes: int) -> dict[str, str]:
    body = event.get("body")
    if not body:
        return {}
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else str(body).encode()
    except (ValueError, binascii.Error):
        raise BadRequest("body is not valid base64", field="body") from None
    if len(raw) > max_body_bytes:
        raise PayloadTooLarge(f"body is {len(raw)} bytes; the limit is {max_body_bytes}", field="body")
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != FORM_TYPE:
        raise UnsupportedMediaType(f"send a form ({FORM_TYPE})", field="content-type")
    try:
        text = raw.decode()
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("body is not a UTF-8 form", field="body") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise BadRequest(f"field {name!r} is given twice", field=name)
        form[name] = value
    return form
