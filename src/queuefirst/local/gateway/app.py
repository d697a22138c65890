"""An HTTP gateway on localhost that speaks API Gateway HTTP API (payload 2.0).

uvicorn (on h11) does the HTTP: keep-alive, chunked bodies, HEAD, pipelining,
a deep listen backlog and a graceful shutdown. What is written here is only
the translation: each request becomes a 2.0 event for the api function's
runtime pool, and the function's answer (status, headers, cookies, base64
bodies) becomes the response, as API Gateway maps it.

The gateway's own answers use API Gateway's error shape, `{"message": ...}`:
405 for a method API Gateway does not route, 408 for a body that does not
arrive in time, 413 past API Gateway's 10 MB payload limit, 502 when the
invocation fails or answers what API Gateway cannot map, and 503 when no
runtime answers within the integration timeout. Malformed HTTP gets 400 from
the server itself (see `gateway/server.py`).

With a `Routing`, each request takes its route as API Gateway selects it
(`gateway/routing.py`), the route's JWT authorizer checks its token first
(`gateway/authorizer.py`: 401 `{"message":"Unauthorized"}` without a valid one,
and the function is never invoked), and the event names the route and
carries the verified claims where AWS puts them. Without one (a bare
gateway in front of one function, for tests and benchmarks), every request
goes to that function on `$default`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from queuefirst.local.gateway.authorizer import Denied
from queuefirst.local.gateway.events import http_event
from queuefirst.local.gateway.routing import Invoke, Routing
from queuefirst.local.runtimes.instance import Invocation
from queuefirst.model.limits import HTTP_API_MAX_BODY_BYTES, HTTP_API_TIMEOUT_SECONDS

# The methods an HTTP API route can name (`ANY` covers exactly these).
ROUTED_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
# A body that stalls this long between chunks is given up on (408).
BODY_TIMEOUT_SECONDS = 10.0
# Never passed on: they describe the gateway's own connection, not the response.
HOP_BY_HOP = frozenset({"connection", "content-length", "keep-alive", "transfer-encoding", "upgrade"})

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Refusal(Exception):
    """A request the gateway answers itself, as API Gateway would."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        close: bool = False,
        allow: str | None = None,
        authenticate: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close  # the body was not read to its end: the connection cannot carry another request
        self.allow = allow
        self.authenticate = authenticate  # why a token was refused, as API Gateway's header says


class Gateway:
    """The ASGI application: request -> 2.0 event -> api function -> response.

    `workers` threads call the blocking `invoke`; size it to the most runtimes
    the api pool can have, so every runtime can be busy at once (a request
    beyond that waits for a free runtime, up to the integration timeout).
    """

    def __init__(
        self,
        invoke: Invoke,
        workers: int,
        *,
        max_body: int = HTTP_API_MAX_BODY_BYTES,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        integration_timeout: float = HTTP_API_TIMEOUT_SECONDS,
        routing: Routing | None = None,
    ) -> None:
        self.invoke = invoke
        self.routing = routing
        self.executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="gateway-invoke")
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.integration_timeout = integration_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan or websocket: uvicorn runs with lifespan off
        request_id = str(uuid.uuid4())
        try:
            status, headers, body = await self._handle(scope, receive, request_id)
        except Refusal as refusal:
            status, headers, body = _refusal_response(refusal)
        headers.append((b"apigw-requestid", request_id.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})  # uvicorn sends none for HEAD

    async def _handle(
        self, scope: Scope, receive: Receive, request_id: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        method = scope["method"]
        if method not in ROUTED_METHODS:
            raise Refusal(405, "Method Not Allowed", close=True, allow=", ".join(ROUTED_METHODS))
        body = await self._read_body(scope, receive)
        client = scope.get("client") or ("127.0.0.1", 0)
        raw_path = scope["raw_path"].decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        invoke: Invoke = self.invoke
        route: dict[str, Any] = {}
        if self.routing is not None:
            invoke, route = self._route(method, raw_path, headers)
        event = http_event(
            method,
            raw_path,
            query=scope["query_string"].decode("latin-1"),
            headers=headers,
            body=body,
            request_id=request_id,
            source_ip=client[0],
            protocol=f"HTTP/{scope['http_version']}",
            **route,
        )
        deadline = time.monotonic() + self.integration_timeout
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self.executor, self._invoke, invoke, event, deadline)
        if result is None:
            raise Refusal(503, "Service Unavailable")
        return lambda_response(result)

    def _route(
        self, method: str, raw_path: str, headers: list[tuple[str, str]]
    ) -> tuple[Invoke, dict[str, Any]]:
        """The route's function and the event's route fields, once its authorizer admits the request."""
        assert self.routing is not None
        match = self.routing.table.match(method, raw_path)
        if match is None:  # no route and no $default: API Gateway's own answer
            raise Refusal(404, "Not Found")
        authorizer = self.routing.authorizer(match.route)
        context = None
        if authorizer is not None:
            token = next((value for name, value in headers if name.lower() == "authorization"), None)
            try:
                context = authorizer.authorize(token, match.route.scopes)
            except Denied as denied:
                raise Refusal(denied.status, denied.message, authenticate=denied.www_authenticate) from None
        invoke = self.routing.functions.get(match.route.function)
        if invoke is None:
            raise Refusal(502, "Internal Server Error")  # a route to a function not running
        fields = {
            "route_key": match.route.key,
            "path_parameters": match.path_parameters or None,
            "authorizer": context,
        }
        return invoke, fields

    def _invoke(self, invoke: Invoke, event: dict[str, Any], deadline: float) -> Invocation | None:
        """In a worker thread: None when no runtime came free before the deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            return invoke(event, remaining)
        except TimeoutError:
            return None

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise Refusal(413, "Request Entity Too Large", close=True)
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                raise Refusal(408, "Request Timeout", close=True) from None
            if message["type"] == "http.disconnect":
                raise Refusal(400, "Bad Request", close=True)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:  # a chunked body announces no length
                raise Refusal(413, "Request Entity Too Large", close=True)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def lambda_response(result: Invocation) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The function's answer as API Gateway maps a payload 2.0 response; 502 when it cannot."""
    if not result.ok:
        raise Refusal(502, "Internal Server Error")
    payload = result.payload
    try:
        if not isinstance(payload, dict) or "statusCode" not in payload:
            # API Gateway's inference: any other JSON value is a 200 with that value as the body.
            data = json.dumps(payload).encode()
            return 200, [(b"content-type", b"application/json"), _length(data)], data
        status = payload["statusCode"]
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise ValueError(f"statusCode {status!r}")
        body = payload.get("body") or ""
        if not isinstance(body, str):
            raise ValueError("body is not a string")
        data = base64.b64decode(body, validate=True) if payload.get("isBase64Encoded") else body.encode()
        headers = [
            (str(name).lower().encode("latin-1"), str(value).encode("latin-1"))
            for name, value in (payload.get("headers") or {}).items()
            if str(name).lower() not in HOP_BY_HOP
        ]
        headers += [(b"set-cookie", str(c).encode("latin-1")) for c in payload.get("cookies") or []]
    except (ValueError, TypeError, AttributeError, UnicodeEncodeError, binascii.Error):
        raise Refusal(502, "Internal Server Error") from None
    return status, [*headers, _length(data)], data


def _length(data: bytes) -> tuple[bytes, bytes]:
    return (b"content-length", str(len(data)).encode())


def _refusal_response(refusal: Refusal) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    # Byte for byte API Gateway's body: `{"message":"Unauthorized"}`.
    data = json.dumps({"message": refusal.message}, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), _length(data)]
    if refusal.allow:
        headers.append((b"allow", refusal.allow.encode()))
    if refusal.authenticate:
        headers.append((b"www-authenticate", refusal.authenticate.encode("latin-1", "replace")))
    if refusal.close:
        headers.append((b"connection", b"close"))
    return refusal.status, headers, data
