"""One validation at the api and at the worker (issue 17): whatever the api answers 202 to, its
worker can apply, and what it cannot is refused at once with a 4xx naming where the fault is.

Real HTTP API (2.0) events, real PostgreSQL, a real SQS-compatible server. Neither the shop nor
the fixture app declares a list or an object field, so an application of one entity with both
is made here (its table built from the declaration, as `test_field_kinds` does).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg import sql
from pydantic import BaseModel

from queuefirst.api.root import build_api
from queuefirst.local import EntityQueues, ensure_queues
from queuefirst.model.entity import Entity
from queuefirst.model.registry import Registry
from queuefirst.runtime.settings import ApiSettings, WorkerSettings
from queuefirst.schema.engine import make_engine
from queuefirst.schema.tables import build_schema
from queuefirst.store.database import Database, conninfo
from queuefirst.worker.handler import make_handler
from queuefirst.worker.root import build_worker
from tests.conftest import drain, truncate
from tests.helpers import Context, api_event, deliver, receive_event, rows

pytestmark = pytest.mark.integration


class LabelFields(BaseModel):
    tags: list[str] = []
    extra: dict[str, str] = {}


labels = Entity(name="labels", fields=LabelFields)  # the operators' alone: every route theirs
EDGE = Registry("edge", [labels])

Call = Callable[..., tuple[int, Any]]


@pytest.fixture(scope="module")
def edge_url(postgres_server: str) -> str:
    name = f"edge_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**conninfo(postgres_server), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = postgres_server.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url, pool_size=1)
    build_schema(EDGE).metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def edge_queues(sqs_client: Any) -> dict[str, EntityQueues]:
    return ensure_queues(sqs_client, EDGE)


@pytest.fixture(scope="module")
def edge_api(edge_url: str, sqs_endpoint: str, edge_queues: Any) -> Any:
    return build_api(EDGE, ApiSettings(DATABASE_URL=edge_url, SQS_ENDPOINT_URL=sqs_endpoint))


@pytest.fixture(scope="module")
def edge_worker(edge_url: str, sqs_endpoint: str, edge_queues: Any) -> Any:
    settings = WorkerSettings(
        DATABASE_URL=edge_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_ENTITY="labels"
    )
    return make_handler(build_worker("edge", labels, settings))


def _empty(url: str, client: Any, queues: dict[str, EntityQueues]) -> None:
    truncate(url, EDGE)
    for queue in queues.values():
        drain(client, queue.url)
        drain(client, queue.dlq_url)


@pytest.fixture
def edge(edge_url: str, sqs_client: Any, edge_queues: dict[str, EntityQueues]) -> Iterator[Database]:
    _empty(edge_url, sqs_client, edge_queues)
    database = Database(edge_url)
    yield database
    database.close()


@pytest.fixture
def call(edge_api: Any, edge: Database) -> Call:
    def invoke(method: str, path: str, body: Any) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        event = api_event(EDGE, method, path, body=data, headers={"content-type": "application/json"})
        response = edge_api(event, Context())
        return response["statusCode"], json.loads(response["body"])

    return invoke


def queued(client: Any, queues: dict[str, EntityQueues]) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in receive_event(client, queues["labels"], wait=0)["Records"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tags": ["fine", "nul\x00here"]}, "tags.1"),  # in a list
        ({"extra": {"colour": "nul\x00here"}}, "extra.colour"),  # an object's value
        ({"extra": {"nul\x00key": "fine"}}, "extra"),  # an object's key: jsonb holds neither
    ],
)
def test_a_nul_inside_a_list_or_object_is_422_naming_where_and_nothing_is_enqueued(
    call: Call, sqs_client: Any, edge_queues: dict[str, EntityQueues], body: dict[str, Any], field: str
) -> None:
    status, answer = call("POST", "/labels", {"id": "l1", **body})
    assert (status, answer["error"]["field"]) == (422, field), answer
    assert "NUL" in answer["error"]["message"]
    status, answer = call("PATCH", "/labels/l1", body)  # refused before the row is even looked up
    assert (status, answer["error"]["field"]) == (422, field), answer
    assert queued(sqs_client, edge_queues) == []


texts = st.text(max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(tags=st.lists(texts, max_size=3), extra=st.dictionaries(texts, texts, max_size=2))
@example(tags=["a\x00"], extra={})
@example(tags=[], extra={"k": "\x00"})
def test_whatever_the_api_accepts_its_worker_applies(
    edge_api: Any,
    edge_worker: Any,
    edge_url: str,
    sqs_client: Any,
    edge_queues: dict[str, EntityQueues],
    tags: list[str],
    extra: dict[str, str],
) -> None:
    _empty(edge_url, sqs_client, edge_queues)
    body = json.dumps({"id": "l1", "tags": tags, "extra": extra}).encode()
    event = api_event(EDGE, "POST", "/labels", body=body, headers={"content-type": "application/json"})
    status = edge_api(event, Context())["statusCode"]
    if status != 202:
        assert status == 422
        assert queued(sqs_client, edge_queues) == []
        return
    assert deliver(edge_worker, sqs_client, edge_queues["labels"])[1] == {"batchItemFailures": []}
    database = Database(edge_url)
    try:
        row = rows(database, "labels")["l1"]
    finally:
        database.close()
    assert (row["tags"], row["extra"]) == (tags, extra)


def test_the_contract_refuses_nul_wherever_the_api_does(edge_api: Any) -> None:
    response = edge_api(api_event(EDGE, "GET", "/openapi.json"), Context())
    create = json.loads(response["body"])["components"]["schemas"]["LabelsCreate"]["properties"]
    no_nul = "^[^\\u0000]*$"
    assert create["tags"]["items"]["pattern"] == no_nul
    assert create["extra"]["additionalProperties"]["pattern"] == no_nul
    assert create["extra"]["propertyNames"]["pattern"] == no_nul
