"""Small helpers for local servers: ports and processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    alive: Callable[[], bool] = lambda: True,
    interval: float = 0.05,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if not alive():
            raise RuntimeError(f"{what} exited before it was ready")
        time.sleep(interval)
    raise TimeoutError(f"{what} was not ready after {timeout:.0f}s")


def stop_process(process: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> None:
    """Ask a server to stop with `sig`; kill it if it has not stopped in `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_server(
    command: Sequence[str], *, port: int, what: str, timeout: float, interval: float = 0.05, **popen: Any
) -> subprocess.Popen[bytes]:
    """Start a server in its own session and wait for its port; never leave one half-started."""
    process: subprocess.Popen[bytes] = subprocess.Popen(list(command), start_new_session=True, **popen)
    try:
        wait_until(
            lambda: port_in_use(port),
            timeout=timeout,
            what=what,
            alive=lambda: process.poll() is None,
            interval=interval,
        )
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return process
