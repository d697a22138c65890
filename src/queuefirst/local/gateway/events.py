"""HTTP API (payload 2.0) events, as API Gateway builds them for a route's function.

The gateway builds them, and so do the tests, so a handler sees locally
exactly the shape it sees on AWS. A conformance test holds them against AWS's
published sample events and Powertools' models (`eventsource/records.py`
builds the SQS events the same way).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from queuefirst.local.runtimes.specs import ACCOUNT

# API Gateway passes these through as text; any other body arrives base64-encoded.
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


def request_time(epoch_ms: int) -> str:
    """`requestContext.time` as API Gateway writes it: `12/Mar/2020:19:03:58 +0000`."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


def http_event(
    method: str,
    raw_path: str,
    *,
    query: str = "",
    headers: Headers | None = None,
    body: bytes | None = None,
    request_id: str = "local",
    source_ip: str = "127.0.0.1",
    time_epoch_ms: int | None = None,
    protocol: str = "HTTP/1.1",
    route_key: str = "$default",
    path_parameters: Mapping[str, str] | None = None,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event for a route (`$default` unless named).

    As API Gateway builds it: header names lower-cased and repeated headers
    joined with commas; every `Cookie` header's cookies in `cookies`; repeated
    query parameters joined with commas; `rawPath` and `rawQueryString` exactly
    as sent (percent-encoded: with `$default` there are no path parameters,
    the resolver decodes its own); a body base64-encoded unless it is text;
    `authorizer` as a JWT authorizer leaves it (`{"jwt": {"claims": ..., "scopes": ...}}`).
    """
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in pairs:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        else:
            joined[key] = f"{joined[key]},{value}" if key in joined else value
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    epoch_ms = int(time.time() * 1000) if time_epoch_ms is None else time_epoch_ms
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    if params:
        event["queryStringParameters"] = params
    event["requestContext"] = {
        "accountId": ACCOUNT,
        "apiId": "local",
        **({"authorizer": dict(authorizer)} if authorizer is not None else {}),
        "domainName": joined.get("host", "localhost"),
        "domainPrefix": joined.get("host", "localhost").split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": method.upper(),
            "path": raw_path,
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": request_time(epoch_ms),
        "timeEpoch": epoch_ms,
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        if _is_text(joined.get("content-type", ""), body):
            event["body"], event["isBase64Encoded"] = body.decode(), False
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    else:
        event["isBase64Encoded"] = False
    return event


def _is_text(content_type: str, body: bytes) -> bool:
    if not content_type.lower().startswith(TEXT_TYPES):
        return False
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True
