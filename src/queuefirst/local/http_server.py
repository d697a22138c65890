"""uvicorn under the gateway: started in a thread of its own, stopped gracefully.

The listening socket is bound here, before the server thread starts, so a
port in use is an error the stack can report (uvicorn itself would exit the
process), and its backlog is deep enough for hundreds of clients connecting
at once. Two details of uvicorn's h11 protocol are adjusted, and nothing else:
malformed HTTP gets API Gateway's JSON error body instead of plain text, and
a connection that never completes its first request's headers is closed after
the keep-alive timeout, as one that goes quiet between requests already is.
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

from queuefirst.local.gateway import Gateway

BACKLOG = 2048
KEEP_ALIVE_SECONDS = 5
# In-flight requests get this long to finish when the stack stops.
GRACEFUL_SECONDS = 5


class GatewayProtocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Cancelled by uvicorn as soon as the first request's headers are in.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

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

    def __init__(self, app: Gateway, host: str, port: int) -> None:
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
            http=GatewayProtocol,
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
