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
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg.pq import TransactionStatus

IDLE_CHECK_SECONDS = 30.0


def conninfo(url: str) -> dict[str, Any]:
    """Connection parameters from any `postgresql://` spelling (SQLAlchemy's included)."""
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {parts.scheme}://…")
    params: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": parts.port or 5432,
        "dbname": unquote(parts.path.lstrip("/")) or "postgres",
    }
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password:
        params["password"] = unquote(parts.password)
    for item in filter(None, parts.query.split("&")):
        name, _, value = item.partition("=")
        params[name] = unquote(value)
    return params


OnOpen = Callable[["psycopg.Connection[Any]"], None]


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
        params = dict(self.params)
        if self.iam_auth:
            params["password"] = _iam_token(params, self.region)
        conn = psycopg.connect(**params, prepare_threshold=self.prepare_threshold, autocommit=True)
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
    def transaction(self, *, pipelined: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """A transaction on the instance's connection; a broken connection is dropped.

        `pipelined`: the statements go out without waiting for each other's
        answers (pipeline mode), BEGIN with the first reads and COMMIT with the
        last writes: a batch costs one round trip per read it waits for, plus
        one. Inside, a statement's error surfaces when its results are read, or
        at the end; either way the transaction is rolled back.
        """
        conn = self.connection()
        try:
            with _pipelined(conn) if pipelined else conn.transaction():
                yield conn
        except psycopg.OperationalError:
            if conn.broken or conn.closed:
                self.close()
            raise
        finally:
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


def _iam_token(params: dict[str, Any], region: str) -> str:
    import boto3  # only on AWS, where the login is an IAM token

    rds = boto3.client("rds", region_name=region or None)
    token: str = rds.generate_db_auth_token(
        DBHostname=params["host"], Port=int(params["port"]), DBUsername=params["user"]
    )
    return token


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
        database.connection()
    except psycopg.OperationalError as error:
        if logger is not None:
            logger.warning(
                "database unreachable at init; schema checked on first connection",
                extra={"error": f"{type(error).__name__}: {error}".strip()},
            )
