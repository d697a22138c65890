"""psycopg's errors as the kit's own (`queuefirst.model.errors`): the one place that sorts them.

Everything the store does runs inside `translated()`, so what leaves the store
is `StoreUnavailable`, `StoreConflict` or `StoreRefused`, never a psycopg error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors

from queuefirst.model.errors import StoreConflict, StoreRefused, StoreUnavailable, first_line

# What running the transaction again resolves: a deadlock or a serialization failure,
# and a key or a command another invocation inserted meanwhile (the store's inserts
# have no ON CONFLICT on purpose: the second writer fails, runs again, and sees the first).
_CONFLICTS = (errors.TransactionRollback, errors.UniqueViolation)
# What the database says of the data itself: a constraint, a type, a value out of range.
_REFUSALS = (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError, psycopg.NotSupportedError)


def translate(error: psycopg.Error) -> StoreUnavailable | StoreConflict | StoreRefused:
    """The kit's error for a psycopg error (the caller raises it `from` the original)."""
    message = f"{type(error).__name__}: {first_line(error)}"
    if isinstance(error, _CONFLICTS):
        return StoreConflict(message)
    if isinstance(error, _REFUSALS):
        return StoreRefused(first_line(error))
    # OperationalError (the server gone, a connection refused or dropped), InterfaceError,
    # InternalError: the database, not the data. A retry later may succeed.
    return StoreUnavailable(message)


@contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as error:
        raise translate(error) from error
