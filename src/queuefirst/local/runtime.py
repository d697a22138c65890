"""Each function as a pool of real Lambda runtimes.

One instance is AWS's Runtime Interface Emulator wrapping
`python -m awslambdaric <handler>`, the very entrypoint the images run. RIE
serves one invocation at a time, so a function with concurrency N is N
instances. An instance that crashes or overruns its timeout is replaced and
its invocation fails, as on Lambda.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from queuefirst.local.functions import FunctionSpec
from queuefirst.local.launchers import Launcher
from queuefirst.local.ports import free_port, start_server
from queuefirst.local.processes import live_children

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


class RuntimePool:
    """Instances of one function; an invocation takes an idle one.

    The pool starts `spec.concurrency` instances, warm. When every one is busy
    it starts another, as Lambda adds an execution environment, up to its
    `limit` (`spec.limit` until `set_limit` changes it); beyond that an
    invocation waits for an idle instance. It shrinks only when its limit is
    lowered (a local stack has no idle reaper), and `on_grow` hears of each
    change of its size.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        launcher: Launcher,
        log_dir: Path,
        on_grow: Callable[[RuntimePool], None] | None = None,
    ) -> None:
        self.spec = spec
        self.launcher = launcher
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = open(log_dir / f"{spec.name}.log", "ab")  # noqa: SIM115 - lives as long as the pool
        self.instances: list[RuntimeInstance] = []
        self._idle: queue.Queue[RuntimeInstance] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._starting = 0
        self.on_grow = on_grow
        self.replaced = 0
        self.limit = spec.limit

    def start(self) -> RuntimePool:
        for _ in range(self.spec.concurrency):
            instance = RuntimeInstance(self.spec, self.launcher, self.log).start()
            self.instances.append(instance)
            self._idle.put(instance)
        return self

    def warm(self, event: Any) -> list[Invocation]:
        """Initialise every instance now (RIE starts the runtime on first invoke),
        so the first requests of a session do not pay the cold start."""
        results: list[Invocation] = []
        threads = [
            threading.Thread(target=lambda i=i: results.append(i.invoke(event))) for i in self.instances
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def pids(self) -> list[int]:
        return [i.pid for i in self.instances if i.pid is not None]

    @property
    def size(self) -> int:
        return len(self.instances)

    def invoke(self, event: Any, wait: float | None = None) -> Invocation:
        instance = self._take(wait)
        if not instance.alive() or instance.runtime_gone():
            # Lambda never hands an event to an environment that is gone.
            instance = self._replace(instance)
        result: Invocation | None = None
        try:
            result = instance.invoke(event)
            if result.broken and not result.delivered:
                # It never reached a runtime, so nothing ran: as Lambda, a fresh
                # environment takes it, and no delivery of the event is spent.
                instance = self._replace(instance)
                result = instance.invoke(event)
        finally:
            if result is None or result.broken or not instance.alive():
                instance = self._replace(instance)
            with self._lock:
                retire = len(self.instances) > self.limit and not self._closed
                if retire:
                    self.instances.remove(instance)
            if retire:  # the limit was lowered while it worked
                instance.stop()
                self._resized()
            else:
                self._idle.put(instance)
        return result

    def set_limit(self, limit: int) -> None:
        """Run at most `limit` instances from now on, as a changed concurrency limit does on
        Lambda: idle instances beyond it stop at once, busy ones when their invocation ends."""
        with self._lock:
            self.limit = max(1, limit)
        while True:
            with self._lock:
                if len(self.instances) <= self.limit:
                    return
            try:
                instance = self._idle.get_nowait()
            except queue.Empty:
                return
            with self._lock:
                surplus = len(self.instances) > self.limit
                if surplus:
                    self.instances.remove(instance)
            if not surplus:
                self._idle.put(instance)
                return
            instance.stop()
            self._resized()

    def _resized(self) -> None:
        if self.on_grow is not None:
            self.on_grow(self)

    def _take(self, wait: float | None) -> RuntimeInstance:
        """An idle instance; else a new one while under the limit; else wait for one."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = not self._closed and len(self.instances) + self._starting < self.limit
            if grow:
                self._starting += 1
        if not grow:
            return self._idle.get(timeout=wait)
        try:
            fresh = RuntimeInstance(self.spec, self.launcher, self.log).start()
        except Exception as error:
            self._write_log(f"{self.spec.name}: adding a runtime failed: {type(error).__name__}: {error}")
            with self._lock:
                self._starting -= 1
            return self._idle.get(timeout=wait)
        with self._lock:
            self._starting -= 1
            self.instances.append(fresh)
        self._resized()
        return fresh

    def _replace(self, dead: RuntimeInstance) -> RuntimeInstance:
        """A fresh instance in the dead one's slot; if none can start, the dead one
        stays, fails its next invocation at once, and is replaced then."""
        with self._lock:
            if self._closed:
                return dead
        dead.stop()
        try:
            fresh = RuntimeInstance(self.spec, self.launcher, self.log).start()
        except Exception as error:  # a failed start is retried at the next invocation
            self._write_log(f"{self.spec.name}: replacing a runtime failed: {type(error).__name__}: {error}")
            return dead
        with self._lock:
            if self._closed:
                fresh.stop()
                return dead
            self.instances[self.instances.index(dead)] = fresh
            self.replaced += 1
        return fresh

    def _write_log(self, line: str) -> None:
        with contextlib.suppress(ValueError):  # the log is closed once the pool stops
            self.log.write(f"queuefirst: {line}\n".encode())
            self.log.flush()

    def stop(self) -> None:
        with self._lock:
            self._closed = True
            instances = list(self.instances)
        for instance in instances:
            instance.stop()
        self.log.close()


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


def start_pools(
    specs: Sequence[FunctionSpec],
    launcher: Launcher,
    log_dir: Path,
    on_grow: Callable[[RuntimePool], None] | None = None,
) -> dict[str, RuntimePool]:
    pools: dict[str, RuntimePool] = {}
    try:
        for spec in specs:
            pools[spec.name] = RuntimePool(spec, launcher, log_dir, on_grow).start()
    except BaseException:
        for pool in pools.values():
            pool.stop()
        raise
    return pools
