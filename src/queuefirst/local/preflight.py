"""What the local stack checks before it relies on something, with errors that say what to fix.

Each check runs before the step that needs it, so a stack that cannot start
stops early, with one line naming the setting to change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from queuefirst.local.ports import port_in_use
from queuefirst.local.settings import DevSettings
from queuefirst.local.summary import safe_url
from queuefirst.schema.engine import make_engine

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class StackError(RuntimeError):
    """Something the user can fix; the message says what and how."""


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


def check_sqs(client: SQSClient, url: str) -> None:
    try:
        client.list_queues()
    except Exception as error:
        raise StackError(
            f"cannot reach SQS at {url} ({type(error).__name__}): check SQS_ENDPOINT_URL"
        ) from error
