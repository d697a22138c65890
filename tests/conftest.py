"""Session-wide real servers: PostgreSQL (embedded, as an unprivileged user when
root) and moto's server mode as the SQS endpoint. Set TEST_DATABASE_URL or
TEST_SQS_ENDPOINT_URL to use servers of your own instead.

Each application under test (the kit's fixture app `notes`, and the example
`shop`) gets its own database on the one server, migrated with its own
revisions, and its own queues on the one SQS endpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import psutil
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from notes import application as notes_app
from queuefirst.local import EntityQueues, LocalSqs, ensure_queues, rie_binary, scratch_postgres
from queuefirst.model.application import Application
from queuefirst.model.registry import Registry
from queuefirst.schema.tables import build_schema
from queuefirst.schema.upgrade import upgrade
from queuefirst.store.database import Database, conninfo
from shop import application as shop_app
from tests.helpers import forget_received

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "queuefirst-tests")

# The checkout's .queuefirst/ is the developer's `make dev` data: every `queuefirst dev`
# and every command a test starts keeps its data in a home of the session's instead
# (straight under /tmp, where the embedded PostgreSQL's unprivileged user can enter).
CHECKOUT_HOME = Path(__file__).resolve().parents[1] / ".queuefirst"
SESSION_HOME = Path(tempfile.mkdtemp(prefix="queuefirst-test-home-"))
SESSION_HOME.chmod(0o755)
os.environ["QUEUEFIRST_HOME"] = str(SESSION_HOME)
# Nor does any test read or write the checkout's release record (infra/images.json): a
# deploy test records what it rolled out, and the CDK app reads the record by default.
os.environ["QUEUEFIRST_RECORD"] = str(SESSION_HOME / "release-record" / "images.json")


def _home_state(home: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory under `home`: its size and modification time."""
    state = {}
    for path in [home, *home.rglob("*")] if home.exists() else []:
        with contextlib.suppress(FileNotFoundError):
            info = path.lstat()
            state[str(path.relative_to(home))] = (info.st_size, info.st_mtime_ns)
    return state


def _dev_running(home: Path) -> bool:
    """A `make dev` of the developer's is using the directory (its dev.json names a live pid)."""
    try:
        return psutil.pid_exists(json.loads((home / "dev.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return False


@pytest.fixture(scope="session", autouse=True)
def checkout_home_untouched() -> Iterator[None]:
    """The session leaves the checkout's .queuefirst/ as it found it (a failure here is an
    error at the last test's teardown). Not judged while a `make dev` of its own writes there."""
    busy = _dev_running(CHECKOUT_HOME)
    before = _home_state(CHECKOUT_HOME)
    yield
    shutil.rmtree(SESSION_HOME, ignore_errors=True)
    if busy or _dev_running(CHECKOUT_HOME):
        return
    after = _home_state(CHECKOUT_HOME)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == [], f"the tests changed the checkout's {CHECKOUT_HOME}: {changed[:10]}"


@pytest.fixture(scope="session")
def rie_path() -> str:
    """AWS's aws-lambda-rie, fetched once per machine from the aws-sam-cli wheel."""
    return str(rie_binary(Path(tempfile.gettempdir()) / "queuefirst-test-rie"))


# -- PostgreSQL: one server, one database per application ------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The server's URL (its `postgres` database)."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    with scratch_postgres("queuefirst-test-pg-") as server:
        yield server.url


def app_database(server_url: str, app: Application) -> str:
    """A fresh database for `app` on the server, migrated to head."""
    name = f"test_{app.name}"
    with psycopg.connect(**conninfo(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url, app)
    return url


@pytest.fixture(scope="session")
def notes_url(postgres_server: str) -> str:
    return app_database(postgres_server, notes_app)


@pytest.fixture(scope="session")
def shop_url(postgres_server: str) -> str:
    return app_database(postgres_server, shop_app)


def truncate(url: str, registry: Registry) -> None:
    tables = ", ".join(f'"{t.name}"' for t in build_schema(registry).metadata.sorted_tables)
    with psycopg.connect(**conninfo(url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables}")  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def notes() -> Registry:
    return notes_app.registry(rules=True)


@pytest.fixture(scope="session")
def shop() -> Registry:
    return shop_app.registry(rules=True)


@pytest.fixture
def notes_db(notes_url: str, notes: Registry) -> Iterator[Database]:
    """The notes database, emptied, and a connection to read it with."""
    truncate(notes_url, notes)
    database = Database(notes_url)
    yield database
    database.close()


@pytest.fixture
def shop_db(shop_url: str, shop: Registry) -> Iterator[Database]:
    truncate(shop_url, shop)
    database = Database(shop_url)
    yield database
    database.close()


# -- SQS: one server, each application's queues -----------------------------------------


@pytest.fixture(scope="session")
def sqs_endpoint() -> Iterator[str]:
    if os.environ.get("TEST_SQS_ENDPOINT_URL"):
        yield os.environ["TEST_SQS_ENDPOINT_URL"]
        return
    server = LocalSqs().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqs_client(sqs_endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client("sqs", endpoint_url=sqs_endpoint, region_name="us-east-1")


@pytest.fixture(scope="session")
def notes_session_queues(sqs_client, notes: Registry) -> dict[str, EntityQueues]:  # type: ignore[no-untyped-def]
    return ensure_queues(sqs_client, notes)


@pytest.fixture(scope="session")
def shop_session_queues(sqs_client, shop: Registry) -> dict[str, EntityQueues]:  # type: ignore[no-untyped-def]
    return ensure_queues(sqs_client, shop)


def drained(client, queues: dict[str, EntityQueues]) -> Iterator[dict[str, EntityQueues]]:  # type: ignore[no-untyped-def]
    for q in queues.values():
        drain(client, q.url)
        drain(client, q.dlq_url)
    yield queues
    # Tests invoke handlers without an event source to delete what they settled: take
    # back every message they received, or it would hold its FIFO message group.
    forget_received(client)


@pytest.fixture
def notes_queues(
    sqs_client, notes_session_queues: dict[str, EntityQueues]
) -> Iterator[dict[str, EntityQueues]]:  # type: ignore[no-untyped-def]
    """The notes queues, drained before and after."""
    yield from drained(sqs_client, notes_session_queues)


@pytest.fixture
def shop_queues(
    sqs_client, shop_session_queues: dict[str, EntityQueues]
) -> Iterator[dict[str, EntityQueues]]:  # type: ignore[no-untyped-def]
    yield from drained(sqs_client, shop_session_queues)


def drain(client, url: str) -> None:  # type: ignore[no-untyped-def]
    # PurgeQueue is allowed once a minute; receive-and-delete has no such limit.
    while True:
        messages = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
        ).get("Messages", [])
        if not messages:
            return
        client.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
