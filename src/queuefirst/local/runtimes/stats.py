"""Per-function figures for the local stack's live table."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from queuefirst.local.servers.queues import EntityQueues
from queuefirst.model.names import worker_function_name
from queuefirst.runtime.dead_letters import queue_depth

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

DEPTH_POLL_SECONDS = 2


@dataclass
class FunctionStats:
    invocations: int = 0
    errors: int = 0
    durations: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    queue_depth: int | None = None
    dlq_depth: int | None = None
    runtimes: int = 0

    def percentile(self, p: float) -> float | None:
        if not self.durations:
            return None
        ordered = sorted(self.durations)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Stats:
    def __init__(self, functions: list[str]) -> None:
        self._lock = threading.Lock()
        self.functions = {name: FunctionStats() for name in functions}

    def record(self, function: str, duration_ms: float, ok: bool) -> None:
        with self._lock:
            stats = self.functions[function]
            stats.invocations += 1
            stats.errors += 0 if ok else 1
            stats.durations.append(duration_ms)

    def runtimes(self, function: str, count: int) -> None:
        with self._lock:
            self.functions[function].runtimes = count

    def depths(self, function: str, queue: int | None, dlq: int | None) -> None:
        with self._lock:
            self.functions[function].queue_depth = queue
            self.functions[function].dlq_depth = dlq

    def rows(self) -> list[tuple[str, int, int, int, float | None, float | None, int | None, int | None]]:
        with self._lock:
            return [
                (
                    name,
                    s.runtimes,
                    s.invocations,
                    s.errors,
                    s.percentile(50),
                    s.percentile(99),
                    s.queue_depth,
                    s.dlq_depth,
                )
                for name, s in self.functions.items()
            ]


@dataclass
class DepthWatcher:
    """Reads each entity's queue and dead-letter depths into the stats, every few seconds."""

    stats: Stats
    client: SQSClient
    queues: Mapping[str, EntityQueues]
    app: str
    log: Callable[[str], None]

    def run(self, stopping: threading.Event) -> None:
        while not stopping.wait(DEPTH_POLL_SECONDS):
            for entity, queues in self.queues.items():
                depth: int | None
                dead: int | None
                try:
                    depth, dead = (
                        queue_depth(self.client, queues.url),
                        queue_depth(self.client, queues.dlq_url),
                    )
                except Exception as error:
                    self.log(f"{entity}: queue depth unknown ({type(error).__name__}: {error})")
                    depth = dead = None
                self.stats.depths(worker_function_name(self.app, entity), depth, dead)
