"""Session-wide real servers: PostgreSQL (embedded, as an unprivileged user when
root) and moto's server mode as the SQS endpoint. Set TEST_DATABASE_URL or
TEST_SQS_ENDPOINT_URL to use servers of your own instead."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from sqlalchemy import Engine, text

from queuefirst.local.postgres import EmbeddedPostgres
from queuefirst.local.queues import EntityQueues, ensure_queues
from queuefirst.local.rie import rie_binary
from queuefirst.local.sqs import LocalSqs
from queuefirst.model.registry import Registry
from queuefirst.store.engine import make_engine
from queuefirst.store.migrate import upgrade
from queuefirst.store.schema import StoreSchema, build_schema
from shop import application as shop

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "queuefirst-tests")


@pytest.fixture(scope="session")
def rie_path() -> str:
    """AWS's aws-lambda-rie, fetched once per machine from the aws-sam-cli wheel."""
    return str(rie_binary(Path(tempfile.gettempdir()) / "queuefirst-test-rie"))


@pytest.fixture(scope="session")
def registry() -> Registry:
    return shop.registry()


@pytest.fixture(scope="session")
def schema(registry: Registry) -> StoreSchema:
    return build_schema(registry)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if os.environ.get("TEST_DATABASE_URL"):
        url = os.environ["TEST_DATABASE_URL"]
        upgrade(url, shop)
        yield url
        return
    # Straight under /tmp (not pytest's private tmp dir) so the unprivileged
    # server user, when the tests run as root, can enter it.
    data_dir = Path(tempfile.mkdtemp(prefix="queuefirst-test-pg-"))
    server = EmbeddedPostgres(data_dir).start()
    try:
        upgrade(server.url, shop)
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


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
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url, pool_size=4)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(engine: Engine, schema: StoreSchema) -> Engine:
    names = ", ".join(t.name for t in schema.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names}"))
    return engine


@pytest.fixture(scope="session")
def sqs_client(sqs_endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client("sqs", endpoint_url=sqs_endpoint, region_name="us-east-1")


@pytest.fixture(scope="session")
def session_queues(sqs_client, registry: Registry) -> dict[str, EntityQueues]:  # type: ignore[no-untyped-def]
    return ensure_queues(sqs_client, registry)


@pytest.fixture
def queues(sqs_client, session_queues: dict[str, EntityQueues]) -> dict[str, EntityQueues]:  # type: ignore[no-untyped-def]
    """The entity queues, drained: moto's sends slow down as a queue grows."""
    # PurgeQueue is allowed once a minute; receive-and-delete has no such limit.
    for q in session_queues.values():
        for url in (q.url, q.dlq_url):
            drain(sqs_client, url)
    return session_queues


def drain(client, url: str) -> None:  # type: ignore[no-untyped-def]
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
