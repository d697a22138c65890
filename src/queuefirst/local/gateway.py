"""An HTTP gateway on localhost that speaks API Gateway HTTP API (payload 2.0).

Each request becomes a 2.0 event for the api function's runtime pool; the
response (status, headers, cookies, base64 bodies) is mapped back. Nothing a
client sends can crash the gateway: a malformed request gets a 4xx from the
HTTP server itself, a failed invocation a 502, as API Gateway would.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from queuefirst.local.events import http_event
from queuefirst.local.runtime import Invocation

MAX_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit


def make_gateway(host: str, port: int, invoke: Callable[[dict[str, Any]], Invocation]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "queuefirst-gateway"

        def log_message(self, format: str, *args: Any) -> None:
            return None  # one line per invocation comes from the stack, not here

        def _handle(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self._reply(400, {"message": "Bad Request: Content-Length"})
                return
            if length > MAX_BODY:
                self._reply(413, {"message": "Request Entity Too Large"})
                return
            body = self.rfile.read(length) if length else None
            parts = urlsplit(self.path)
            event = http_event(
                self.command,
                parts.path or "/",
                query=parts.query,
                headers=dict(self.headers.items()),
                body=body,
                request_id=str(uuid.uuid4()),
                source_ip=self.client_address[0],
                time_epoch_ms=int(time.time() * 1000),
            )
            result = invoke(event)
            payload = result.payload
            if not result.ok or not isinstance(payload, dict):
                self._reply(502, {"message": "Internal Server Error"})
                return
            self._send_lambda_response(payload)

        def _send_lambda_response(self, response: dict[str, Any]) -> None:
            if "statusCode" not in response:  # a bare value: API Gateway returns it as JSON
                self._reply(200, response)
                return
            body = response.get("body") or ""
            data = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode()
            self.send_response(int(response["statusCode"]))
            headers = {k.lower(): str(v) for k, v in (response.get("headers") or {}).items()}
            for name, values in (response.get("multiValueHeaders") or {}).items():
                for value in values:
                    self.send_header(name, str(value))
            for name, value in headers.items():
                if name not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            for cookie in response.get("cookies") or []:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            if status >= 400:
                self.close_connection = True  # an unread body must not pass for the next request
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="gateway", daemon=True)
    thread.start()
    return thread
