"""A raw HTTP/1.1 client for probing the gateway: exactly the bytes a test writes."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from types import TracebackType


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)


class RawClient:
    """One kept-alive connection (reopened only if the server closed it)."""

    def __init__(self, host: str, port: int, timeout: float = 30) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.connections_opened = 0

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def request(self, raw: bytes, *, head: bool = False) -> Reply:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.buffer = b""
            self.connections_opened += 1
        self.sock.sendall(raw)
        reply, closing = self._read_reply(head)
        if closing:
            self.close()
        return reply

    def _fill(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"closed by the server; unread: {self.buffer[:200]!r}")
        self.buffer += data

    def _read_reply(self, head: bool) -> tuple[Reply, bool]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head_bytes, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head_bytes.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        cookies = []
        for line in lines:
            name, _, value = line.partition(":")
            if name.lower() == "set-cookie":
                cookies.append(value.strip())
            headers[name.lower()] = value.strip()
        length = 0 if head else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        status = int(status_line.split(" ", 2)[1])
        return Reply(status, headers, body, cookies), headers.get("connection") == "close"

    @staticmethod
    def read_all(sock: socket.socket) -> bytes:
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data
