"""Version stamps and ids issued by the api (never by a worker)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import uuid_utils.compat as uuid_utils


class VersionClock:
    """Time-ordered versions, strictly increasing within one process.

    Microseconds since the epoch; when the wall clock stalls or steps back,
    the last version plus one. Ties between processes are broken by the
    command id (see `Command.stamp`).
    """

    def __init__(self, now_ns: Callable[[], int] = time.time_ns) -> None:
        self._now_ns = now_ns
        self._last = 0
        self._lock = threading.Lock()

    def next(self, at_least: int = 0) -> int:
        """The next version, and never below `at_least` (a version already seen)."""
        with self._lock:
            self._last = max(self._now_ns() // 1000, self._last + 1, at_least)
            return self._last


def new_id() -> uuid.UUID:
    """A UUIDv7: time-ordered, so keys issued by the api index well."""
    return uuid_utils.uuid7()
