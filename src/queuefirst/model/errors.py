"""The kit's own errors: what its ports raise, whatever driver sits behind them.

The store translates psycopg's errors into these, once, inside `queuefirst.store`;
the sender translates botocore's inside `queuefirst.runtime.sender`. The api, the
console and the workers catch only these, so none of them imports a driver's
exceptions, and a new kind of driver failure cannot slip past them as a 500.

- `Unavailable`: a dependency is down, unreachable or overloaded. Retrying later
  may succeed: the api answers 503, a worker fails the message (SQS redelivers).
- `StoreConflict`: another transaction got in the way (a deadlock, a
  serialization failure, a key or command another invocation wrote meanwhile).
  Running the transaction again sees what it committed.
- `StoreRefused`: the database refuses this data (a constraint, a value out of
  a column's range). Running it again changes nothing: the command is poison
  until an operator fixes it.
"""

from __future__ import annotations


class QueuefirstError(Exception):
    """Every error the kit's ports raise."""


class Unavailable(QueuefirstError):
    """A dependency is unavailable; retry later."""


class StoreUnavailable(Unavailable):
    """The database cannot be reached, or dropped the connection."""


class QueueUnavailable(Unavailable):
    """The queue service did not take the commands (unreachable, throttled, refused)."""


class SendError(QueueUnavailable):
    """Some commands could not be enqueued; `failed` maps each one's id to the reason."""

    def __init__(self, failed: dict[str, str]) -> None:
        super().__init__(f"{len(failed)} command(s) not sent: {sorted(failed.items())[:3]}")
        self.failed = failed


class StoreConflict(QueuefirstError):
    """Another transaction interfered; running this one again resolves it."""


class StoreRefused(QueuefirstError):
    """The database refused the data itself; retrying will not help."""


def first_line(error: BaseException) -> str:
    """An error's message, first line only (drivers add detail lines): for reasons and logs."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
