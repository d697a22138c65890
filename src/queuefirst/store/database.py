"""One PostgreSQL connection per function instance, through psycopg 3.

A Lambda execution environment runs one invocation at a time, so one
connection serves it: opened on first use (not at import, so a cold start
pays for it only when it needs it), checked after it sat idle, and reopened
when it breaks. On AWS the password is an RDS IAM token made at connect time.
Not for sharing between threads: give each thread its own `Database`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from queuefirst.model.errors import StoreUnavailable
from queuefirst.store.connect import connect, conninfo
from queuefirst.store.translation import translated

IDLE_CHECK_SECONDS = 30.0
# A connection, as the store's callers hold one: the type only (its errors never reach them).
Connection = psycopg.Connection[Any]


OnOpen = Callable[[Connection], None]


class Database:
    """`on_open` runs on each new connection before first use (the schema guard):
    whatever it raises closes that connection and reaches the caller."""

    def __init__(
        self,
        url: str,
        *,
        iam_auth: bool = False,
        region: str = "",
        connect_timeout: int = 5,
        prepared_statements: bool = True,
        on_open: OnOpen | None = None,
    ) -> None:
        self.params = conninfo(url) | {"connect_timeout": connect_timeout}
        self.iam_auth = iam_auth
        # Server-side prepared statements: each statement is parsed once per
        # connection instead of once per batch. Behind RDS Proxy they pin the client
        # to one database connection, which a function instance holding one
        # connection anyway can afford; turn them off to let the proxy multiplex.
        self.prepare_threshold = 0 if prepared_statements else None
        self.region = region
        self.on_open = on_open
        self._connection: psycopg.Connection[Any] | None = None
        self._last_used = 0.0

    def _fresh(self) -> bool:
        return time.monotonic() - self._last_used < IDLE_CHECK_SECONDS

    def _open(self) -> psycopg.Connection[Any]:
        conn = connect(
            self.params,
            iam_auth=self.iam_auth,
            region=self.region,
            prepare_threshold=self.prepare_threshold,
            autocommit=True,
        )
        if self.prepare_threshold is not None:
            # Still planned for each call's own keys: a generic plan of `id = ANY($1)`,
            # settled while a table is small, keeps scanning it whole as it grows
            # (measured: a batch's reads took 4 to 10 times as long).
            conn.execute("SET plan_cache_mode = force_custom_plan")
        if self.on_open is not None:
            try:
                self.on_open(conn)
            except BaseException:
                conn.close()
                raise
        return conn

    def connection(self) -> psycopg.Connection[Any]:
        conn = self._connection
        usable = conn is not None and not conn.closed and not conn.broken
        if not (usable and conn is not None and (self._fresh() or _answers(conn))):
            self.close()
            conn = self._connection = self._open()
        # Used now: the liveness check is for a connection left idle, not one in use.
        self._last_used = time.monotonic()
        return conn

    @contextmanager
    def transaction(self, *, pipelined: bool = False) -> Iterator[Connection]:
        """A transaction on the instance's connection; a broken connection is dropped.

        `pipelined`: the statements go out without waiting for each other's
        answers (pipeline mode), BEGIN with the first reads and COMMIT with the
        last writes: a batch costs one round trip per read it waits for, plus
        one. Inside, a statement's error surfaces when its results are read, or
        at the end; either way the transaction is rolled back. Whatever fails
        leaves as the kit's error (`queuefirst.model.errors`), never psycopg's.
        """
        with self._session() as conn, _pipelined(conn) if pipelined else conn.transaction():
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """The connection for reads outside a transaction (the api's, the console's), its
        errors translated like a transaction's."""
        with self._session() as conn:
            yield conn

    @contextmanager
    def savepoint(self, conn: Connection) -> Iterator[None]:
        """A savepoint inside `transaction()`: what fails in it is undone, the rest stays."""
        with translated(), conn.transaction():
            yield

    @contextmanager
    def _session(self) -> Iterator[Connection]:
        conn: Connection | None = None
        try:
            with translated():
                conn = self.connection()
                yield conn
        finally:
            if conn is not None and (conn.broken or conn.closed):
                self.close()
            self._last_used = time.monotonic()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@contextmanager
def _pipelined(conn: psycopg.Connection[Any]) -> Iterator[None]:
    # BEGIN and COMMIT as plain statements of the pipeline: psycopg's own
    # transaction block waits for the server on entry, a round trip more.
    try:
        with conn.pipeline():
            conn.execute("BEGIN")
            yield
            conn.execute("COMMIT")
    except BaseException:
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            with contextlib.suppress(psycopg.OperationalError):  # the first error is the news
                conn.execute("ROLLBACK")
        raise


def _answers(conn: psycopg.Connection[Any]) -> bool:
    try:
        conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def open_at_init(database: Database, *, checked: bool, logger: Any = None) -> None:
    """Open the function's connection during init, where the schema guard runs.

    Only for images that carry a schema revision (nothing else to learn at
    init, and the local stack keeps its lazy connection). The first invocation
    reuses the connection, so a cold start pays for it no more than before.
    An unreachable database is not an init error: invocations fail and retry
    as before, and the guard runs when a connection first opens.
    """
    if not checked:
        return
    try:
        with translated():
            database.connection()
    except StoreUnavailable as error:
        if logger is not None:
            logger.warning(
                "database unreachable at init; schema checked on first connection",
                extra={"error": f"{type(error).__name__}: {error}".strip()},
            )
