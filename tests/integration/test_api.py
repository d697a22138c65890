"""The api function on real HTTP API (payload 2.0) events, real PostgreSQL and SQS."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from queuefirst.api.root import build_api
from queuefirst.local.events import http_event
from queuefirst.local.queues import EntityQueues
from queuefirst.model.registry import Registry
from queuefirst.runtime.settings import ApiSettings, WorkerSettings
from queuefirst.worker.handler import make_handler
from queuefirst.worker.root import build_worker
from tests.helpers import CUSTOMER, Context, bodies, receive_event

pytestmark = pytest.mark.integration

Call = Callable[..., tuple[int, Any, dict[str, str]]]


@pytest.fixture(scope="module")
def api_handler(registry: Registry, postgres_url: str, sqs_endpoint: str, session_queues: Any) -> Any:
    settings = ApiSettings(
        DATABASE_URL=postgres_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_MAX_BODY_BYTES=4096
    )
    return build_api(registry, settings)


@pytest.fixture
def call(api_handler: Any, clean_db: Engine, queues: Any) -> Call:
    def invoke(
        method: str, path: str, body: Any = None, query: str = "", raw: bytes | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        event = http_event(
            method, path, query=query, body=data, headers={"content-type": "application/json"} if data else {}
        )
        response = api_handler(event, Context())
        text = response.get("body") or "null"
        return response["statusCode"], json.loads(text), response.get("headers", {})

    return invoke


@pytest.fixture
def apply(
    registry: Registry, postgres_url: str, sqs_endpoint: str, sqs_client: Any, queues: dict[str, EntityQueues]
) -> Callable[[str], None]:
    """Run an entity's worker over what its queue holds (the api never writes)."""
    handlers: dict[str, Any] = {}

    def run(entity: str) -> None:
        if entity not in handlers:
            settings = WorkerSettings(
                DATABASE_URL=postgres_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_ENTITY=entity
            )
            handlers[entity] = make_handler(build_worker("shop", registry[entity], settings))
        event = receive_event(sqs_client, queues[entity])
        assert handlers[entity](event, Context()) == {"batchItemFailures": []}

    return run


def test_create_answers_202_and_enqueues_a_command_without_writing(
    call: Call, sqs_client: Any, queues: dict[str, EntityQueues]
) -> None:
    status, body, _ = call("POST", "/customers", CUSTOMER)
    assert status == 202
    assert set(body) == {"id", "command_id", "status_url"}
    assert uuid.UUID(body["id"]).version == 7
    assert body["status_url"] == f"/commands/{body['command_id']}"
    assert call("GET", f"/customers/{body['id']}")[0] == 404  # queued, not written
    (command,) = bodies(receive_event(sqs_client, queues["customers"]))
    assert command["op"] == "create" and command["key"] == body["id"]
    assert command["payload"] == {**CUSTOMER, "phone": None, "status": "active"}
    assert command["command_id"] == body["command_id"]


def test_full_lifecycle_with_client_ids_status_and_conflicts(
    call: Call, apply: Callable[[str], None]
) -> None:
    status, created, _ = call("POST", "/customers", {**CUSTOMER, "id": "cust-1"})
    assert (status, created["id"]) == (202, "cust-1")
    assert call("GET", created["status_url"])[1]["status"] == "pending"
    apply("customers")
    assert call("GET", created["status_url"])[1] == {
        "command_id": created["command_id"],
        "entity": "customers",
        "op": "create",
        "key": "cust-1",
        "status": "applied",
    }
    assert call("GET", "/customers/cust-1")[1] == {
        "id": "cust-1",
        **CUSTOMER,
        "phone": None,
        "status": "active",
    }
    status, body, _ = call("POST", "/customers", {**CUSTOMER, "id": "cust-1"})
    assert (status, body["error"]["field"]) == (409, "id")

    assert call("PATCH", "/customers/cust-1", {"status": "suspended"})[0] == 202
    apply("customers")
    assert call("GET", "/customers/cust-1")[1]["status"] == "suspended"
    assert call("GET", "/customers/cust-1")[1]["name"] == "Ann"  # partial update

    assert call("DELETE", "/customers/cust-1")[0] == 202
    apply("customers")
    assert call("GET", "/customers/cust-1")[0] == 404


def test_children_check_their_parent_and_references(call: Call, apply: Callable[[str], None]) -> None:
    status, body, _ = call("POST", "/orders", {"customer_id": "ghost", "currency": "EUR"})
    assert (status, body["error"]["field"]) == (422, "customer_id")
    call("POST", "/customers", {**CUSTOMER, "id": "c1"})
    apply("customers")
    status, _, _ = call("POST", "/orders", {"customer_id": "c1", "currency": "EUR", "id": "o1"})
    assert status == 202
    apply("orders")
    item = {"order_id": "o1", "product_id": "nope", "quantity": 1, "unit_price_minor": 5, "currency": "EUR"}
    status, body, _ = call("POST", "/order_items", item)
    assert (status, body["error"]["field"]) == (422, "product_id")
    status, body, _ = call("PATCH", "/orders/o1", {"customer_id": "c2"})
    assert (status, body["error"]["field"]) == (422, "customer_id")


def test_list_paginates_by_key_and_filters_by_parent(call: Call, apply: Callable[[str], None]) -> None:
    for i in range(2):
        call("POST", "/customers", {**CUSTOMER, "id": f"c{i}"})
    apply("customers")
    for i in range(5):
        call("POST", "/orders", {"customer_id": f"c{i % 2}", "currency": "EUR", "id": f"o{i}"})
    apply("orders")
    status, page, _ = call("GET", "/orders", query="limit=2")
    assert status == 200
    assert [o["id"] for o in page["items"]] == ["o0", "o1"] and page["next_after"] == "o1"
    page = call("GET", "/orders", query="limit=2&after=o3")[1]
    assert [o["id"] for o in page["items"]] == ["o4"] and page["next_after"] is None
    page = call("GET", "/orders", query="customer_id=c1")[1]
    assert [o["id"] for o in page["items"]] == ["o1", "o3"]


@pytest.mark.parametrize(
    ("method", "path", "body", "query", "status", "field"),
    [
        ("POST", "/customers", {**CUSTOMER, "email": "not-an-email"}, "", 422, "email"),
        ("POST", "/customers", {"email": "a@b.co"}, "", 422, "name"),
        ("POST", "/customers", {**CUSTOMER, "colour": "red"}, "", 422, "colour"),
        ("POST", "/customers", {**CUSTOMER, "id": "has space"}, "", 422, "id"),
        (
            "POST",
            "/products",
            {"sku": "A1", "name": "x", "price_minor": -1, "currency": "EUR"},
            "",
            422,
            "price_minor",
        ),
        (
            "POST",
            "/products",
            {"sku": "A1", "name": "x", "price_minor": 1, "currency": "euro"},
            "",
            422,
            "currency",
        ),
        ("PATCH", "/customers/nobody", {"name": "x"}, "", 404, "id"),
        ("PATCH", "/customers/nobody", {"colour": "x"}, "", 422, "colour"),
        ("PATCH", "/customers/nobody", {"name": None}, "", 422, "name"),
        ("DELETE", "/customers/nobody", None, "", 404, "id"),
        ("GET", "/customers/nobody", None, "", 404, "id"),
        ("GET", "/customers/bad%20id", None, "", 422, "id"),
        ("GET", "/customers", None, "limit=0", 422, "limit"),
        ("GET", "/customers", None, "limit=many", 422, "limit"),
        ("GET", "/commands/not-a-uuid", None, "", 422, "command_id"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field(
    call: Call, method: str, path: str, body: Any, query: str, status: int, field: str
) -> None:
    got_status, got, _ = call(method, path, body, query)
    assert (got_status, got["error"]["field"]) == (status, field)
    assert got["error"]["message"]


def test_malformed_json_is_400_naming_the_body(call: Call) -> None:
    status, body, _ = call("POST", "/customers", raw=b'{"email": ')
    assert (status, body["error"]["field"]) == (400, "body")


def test_oversized_body_is_413(call: Call) -> None:
    status, body, _ = call("POST", "/customers", {**CUSTOMER, "name": "x" * 5000})
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


def test_unknown_route_is_404_and_wrong_method_is_405(call: Call) -> None:
    assert call("GET", "/nothing-here")[0] == 404
    status, body, headers = call("PUT", "/customers/c1", CUSTOMER)
    assert status == 405 and body["error"]["code"] == "method_not_allowed"
    assert headers["Allow"] == "DELETE, GET, PATCH"


def test_openapi_document_lists_every_route(call: Call, registry: Registry) -> None:
    status, document, _ = call("GET", "/openapi.json")
    assert status == 200
    for name in registry:
        assert {"get", "post"} <= set(document["paths"][f"/{name}"])
        assert {"get", "patch", "delete"} <= set(document["paths"][f"/{name}/{{key}}"])
    assert "/commands/{command_id}" in document["paths"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT"]),
    path=st.sampled_from(["/customers", "/customers/x", "/orders", "/order_items/1", "/commands/x", "/"])
    | st.text(min_size=1, max_size=30).map(lambda s: "/" + s),
    body=st.none()
    | st.binary(max_size=200)
    | st.dictionaries(
        st.sampled_from(["email", "name", "id", "customer_id", "quantity", "x"]),
        st.none() | st.integers() | st.text(max_size=20) | st.booleans(),
        max_size=5,
    ).map(lambda d: json.dumps(d).encode()),
    query=st.sampled_from(["", "limit=5", "limit=-1", "after=%00", "limit=1&limit=2", "customer_id="]),
)
def test_no_client_input_yields_a_5xx(
    api_handler: Any, method: str, path: str, body: bytes | None, query: str
) -> None:
    event = http_event(method, path, query=query, body=body, headers={"content-type": "application/json"})
    response = api_handler(event, Context())
    assert response["statusCode"] < 500, response


def test_a_lagging_api_clock_still_stamps_writes_above_what_the_row_holds(
    registry: Registry,
    engine: Engine,
    clean_db: Engine,
    sqs_client: Any,
    sqs_endpoint: str,
    queues: dict[str, EntityQueues],
    apply: Callable[[str], None],
) -> None:
    """Versions are per api instance; one whose clock is behind must not have
    its accepted PATCH silently superseded by an older-looking create."""
    from queuefirst.api.service import ApiService
    from queuefirst.api.versioning import VersionClock
    from queuefirst.runtime.sender import CommandSender
    from queuefirst.runtime.sender import sqs_client as make_client
    from queuefirst.store.reader import Reader
    from queuefirst.store.schema import build_schema

    def service(now_ns: int) -> ApiService:
        sender = CommandSender(make_client(sqs_endpoint, "us-east-1"), "shop")
        return ApiService(
            registry, engine, Reader(build_schema(registry)), sender, VersionClock(now_ns=lambda: now_ns)
        )

    ahead, behind = service(2_000_000_000_000_000_000), service(1_000_000_000_000_000_000)
    ahead.create(registry["customers"], {**CUSTOMER, "id": "skew"})
    apply("customers")
    behind.update(registry["customers"], "skew", {"name": "Later"})
    apply("customers")
    assert behind.get(registry["customers"], "skew")["name"] == "Later"


def test_the_api_emits_its_own_metrics(call: Call, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    call("GET", "/customers/nobody")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    emf = next(line for line in lines if "_aws" in line)
    names = {m["Name"] for d in emf["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    # Only the api records these. (Powertools shares metric state within a
    # process, so the dimensions show whichever function was built last: on
    # Lambda a process is one function.)
    assert {"Requests", "ClientErrors", "RequestLatency"} <= names
