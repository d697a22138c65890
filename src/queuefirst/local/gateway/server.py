"""uvicorn under the gateway: started in a thread of its own, stopped gracefully.

The listening socket is bound here, before the server thread starts, so a
port in use is an error the stack can report (uvicorn itself would exit the
process), and its backlog is deep enough for hundreds of clients connecting
at once. Two details of uvicorn's h11 protocol are adjusted, and nothing else:
malformed HTTP gets API Gateway's JSON error body instead of plain text, and
a request's headers must arrive whole within HEADERS_TIMEOUT_SECONDS of the
connection opening (or of the previous response), or the connection closes.
uvicorn's keep-alive timer alone does not bound that: any byte received
cancels it, so a client trickling a header byte every few seconds held its
connection forever, and a few hundred such clients held as many.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from queuefirst.local.gateway.app import Gateway

BACKLOG = 2048
KEEP_ALIVE_SECONDS = 5
# From the connection opening, or the previous response, to a request's last header.
HEADERS_TIMEOUT_SECONDS = 10.0
# In-flight requests get this long to finish when the stack stops.
GRACEFUL_SECONDS = 5


class GatewayProtocol(H11Protocol):
    headers_timeout = HEADERS_TIMEOUT_SECONDS
    _headers_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Closes a connection that sends nothing; uvicorn cancels it at the first byte.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )
        self._await_headers()

    def handle_events(self) -> None:
        super().handle_events()
        if self._headers_deadline is not None and self.conn.their_state is not h11.IDLE:
            self._headers_deadline.cancel()  # a request's headers are in: its body has its own timeout
            self._headers_deadline = None

    def on_response_complete(self) -> None:
        self._await_headers()  # before uvicorn reads a pipelined request, which cancels it
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._headers_deadline is not None:
            self._headers_deadline.cancel()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        if self._headers_deadline is not None:
            self._headers_deadline.cancel()
        self._headers_deadline = self.loop.call_later(self.headers_timeout, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        self._headers_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()  # no request to answer: h11 answers only a whole request line

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"message": "Bad Request"}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        response = h11.Response(status_code=400, headers=headers, reason=b"Bad Request")
        for event in (response, h11.Data(body), h11.EndOfMessage()):
            data = self.conn.send(event)
            if data:
                self.transport.write(data)
        self.transport.close()


class GatewayServer:
    """One gateway on one port, served by uvicorn in a background thread."""

    def __init__(
        self, app: Gateway, host: str, port: int, *, headers_timeout: float = HEADERS_TIMEOUT_SECONDS
    ) -> None:
        self.app = app
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY on accepted connections only
        # then. Without it a response's head and body wait on delayed ACKs (40 ms each).
        self.socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind((host, port))
            self.socket.listen(BACKLOG)
        except OSError:
            self.socket.close()
            raise
        config = uvicorn.Config(
            app,
            http=type("GatewayProtocol", (GatewayProtocol,), {"headers_timeout": headers_timeout}),
            lifespan="off",
            loop="asyncio",
            backlog=BACKLOG,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            access_log=False,
            log_config=None,
            log_level="error",
            server_header=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="gateway", daemon=True)
        self.error: BaseException | None = None

    @property
    def port(self) -> int:
        port: int = self.socket.getsockname()[1]
        return port

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.socket])
        except BaseException as error:  # reported by start(), never lost
            self.error = error

    def start(self, timeout: float = 10) -> GatewayServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self.error is not None or not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the gateway did not start: {self.error!r}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish (up to GRACEFUL_SECONDS), then close."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=GRACEFUL_SECONDS + 5)
        self.socket.close()
        self.app.close()
