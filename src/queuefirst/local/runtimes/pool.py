"""Each function as a pool of real Lambda runtimes.

One instance is AWS's Runtime Interface Emulator wrapping
`python -m awslambdaric <handler>`, the very entrypoint the images run. RIE
serves one invocation at a time, so a function with concurrency N is N
instances. An instance that crashes or overruns its timeout is replaced and
its invocation fails, as on Lambda.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from queuefirst.local.runtimes.instance import Invocation, RuntimeInstance
from queuefirst.local.runtimes.launchers import Launcher
from queuefirst.local.runtimes.specs import FunctionSpec


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
