"""What the local stack checks before it relies on something, with errors that say what to fix.

Each check runs before the step that needs it, so a stack that cannot start
stops early, with one line naming the setting to change.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic.util.exc import CommandError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from queuefirst.local.servers.ports import port_in_use
from queuefirst.local.stack.settings import DevSettings
from queuefirst.model.application import Application
from queuefirst.schema.engine import make_engine
from queuefirst.schema.upgrade import upgrade

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class StackError(RuntimeError):
    """Something the user can fix; the message says what and how."""


def safe_url(url: str) -> str:
    """A database URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


def check_ports(settings: DevSettings) -> None:
    """The gateway's port and any fixed embedded-server port are free."""
    if port_in_use(settings.port, settings.host):
        raise StackError(f"port {settings.port} is in use: stop what holds it or set QUEUEFIRST_PORT")
    for port, variable in (
        (settings.pg_port, "QUEUEFIRST_PG_PORT"),
        (settings.sqs_port, "QUEUEFIRST_SQS_PORT"),
    ):
        if port and port_in_use(port):
            raise StackError(f"port {port} is in use: choose another with {variable}")


def check_database(url: str) -> None:
    engine = make_engine(url, pool_size=1, connect_timeout=3)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise StackError(
            f"cannot reach PostgreSQL at {safe_url(url)} "
            f"({type(getattr(error, 'orig', None) or error).__name__}): check DATABASE_URL"
        ) from error
    finally:
        engine.dispose()


def migrate(url: str, application: Application, data_dir: Path | None) -> None:
    """Migrate to the application's head; a database that cannot be (another application's,
    or an older schema's left by an earlier run) is one line saying how to start over.
    `data_dir`: the embedded server's, which `--reset` empties; None for a DATABASE_URL."""
    try:
        upgrade(url, application)
    except (SQLAlchemyError, CommandError) as error:
        cause = getattr(error, "orig", None) or error
        reason = f"{type(cause).__name__}: {str(cause).strip().splitlines()[0]}"
        if data_dir is None:
            raise StackError(
                f"cannot migrate the database at {safe_url(url)} to {application.name}'s schema ({reason}): "
                "point DATABASE_URL at an empty database, or fix this one"
            ) from error
        raise StackError(
            f"the database in {data_dir} cannot be migrated to {application.name}'s schema ({reason}): "
            "start over with `queuefirst dev --reset` (`make dev ARGS=--reset`), which empties it"
        ) from error


def check_sqs(client: SQSClient, url: str) -> None:
    try:
        client.list_queues()
    except Exception as error:
        raise StackError(
            f"cannot reach SQS at {url} ({type(error).__name__}): check SQS_ENDPOINT_URL"
        ) from error
