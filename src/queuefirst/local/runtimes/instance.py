"""One Lambda runtime on this machine: AWS's Runtime Interface Emulator wrapping
`python -m awslambdaric <handler>`, the very entrypoint the images run.

RIE serves one invocation at a time over HTTP; an instance keeps one
connection to it open. An invocation that gets no answer marks the instance
broken, for its pool to replace (`queuefirst.local.runtimes.pool`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import IO, Any

from queuefirst.local.runtimes.launchers import Launcher
from queuefirst.local.runtimes.processes import live_children
from queuefirst.local.runtimes.specs import FunctionSpec
from queuefirst.local.servers.ports import free_port, start_server

INVOKE_PATH = "/2015-03-31/functions/function/invocations"


@dataclass(frozen=True)
class Invocation:
    function: str
    ok: bool
    duration_ms: float
    payload: Any
    error: str | None = None
    # The runtime did not answer at all: the instance is replaced, not reused.
    broken: bool = False
    # False when the request provably never reached a runtime (the connection
    # was refused, or the socket was already closed when it was written).
    delivered: bool = True


@dataclass
class RuntimeInstance:
    spec: FunctionSpec
    launcher: Launcher
    log: IO[bytes]
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    served: bool = False  # an invocation reached it, so RIE has started its runtime
    _connection: http.client.HTTPConnection | None = field(default=None, repr=False)

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def start(self) -> RuntimeInstance:
        self.port = free_port()
        command = self.launcher.command(self.spec, self.port)
        env = {
            **_base_environment(),
            **self.spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": self.spec.name,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.spec.timeout_seconds),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_mb),
        }
        # RIE listens within milliseconds; a fine poll keeps replacements quick.
        self.process = start_server(
            command,
            port=self.port,
            what=f"{self.spec.name} runtime",
            timeout=60,
            interval=0.003,
            env=env,
            stdout=self.log,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
        )
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def runtime_gone(self) -> bool:
        """Its runtime died between invocations (RIE would fail the next event for it,
        then start another): as far as Lambda is concerned, the environment is gone."""
        if not self.served or self.process is None or not self.launcher.runtime_is_child:
            return False
        return live_children(self.process.pid) == []

    def invoke(self, event: Any) -> Invocation:
        started = time.perf_counter()
        # One kept-open connection per instance: the pool lends an instance to
        # one thread at a time. Never retried: a retried POST could run twice.
        try:
            if self._connection is None:
                self._connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.spec.timeout_seconds + 10
                )
            self._connection.request(
                "POST",
                INVOKE_PATH,
                body=json.dumps(event).encode(),
                headers={"Content-Type": "application/json"},
            )
            response = self._connection.getresponse()
            raw = response.read()
        except (http.client.HTTPException, TimeoutError, OSError) as error:
            self._close_connection()
            return Invocation(
                self.spec.name,
                False,
                _ms(started),
                None,
                f"runtime unreachable: {error}",
                broken=True,
                delivered=not isinstance(error, ConnectionRefusedError | BrokenPipeError),
            )
        duration = _ms(started)
        self.served = True
        text = raw.decode(errors="replace")
        if text.startswith("Task timed out"):
            return Invocation(self.spec.name, False, duration, None, text.strip())
        try:
            payload = json.loads(text) if text else None
        except json.JSONDecodeError:
            return Invocation(self.spec.name, False, duration, None, f"invalid response: {text[:200]}")
        if isinstance(payload, dict) and {"errorType", "errorMessage"} <= payload.keys():
            return Invocation(
                self.spec.name, False, duration, payload, f"{payload['errorType']}: {payload['errorMessage']}"
            )
        if response.status != 200:
            # RIE answers 502 with an empty body when the runtime dies during its
            # init: a function error, never an empty ("all succeeded") response.
            return Invocation(
                self.spec.name, False, duration, payload, f"HTTP {response.status}: {text[:200] or 'no body'}"
            )
        return Invocation(self.spec.name, True, duration, payload)

    def stop(self) -> None:
        self._close_connection()
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.launcher.cleanup(self.spec, self.port)


def _base_environment() -> dict[str, str]:
    keep = (
        "PATH",
        "HOME",
        "LANG",
        "LC_ALL",
        "TZ",
        "PYTHONPATH",
        "VIRTUAL_ENV",
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    )
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("AWS_ACCESS_KEY_ID", "local")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
