"""The api function on real HTTP API (payload 2.0) events, real PostgreSQL and SQS,
on the kit's fixture application (boards and their cards).

Events carry the claims API Gateway's JWT authorizer would have verified (AWS
itself can't run here): an operator's on the operators' routes (every write
here: notes' boards are written by operators, its cards are theirs alone),
an end user's on the rest.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queuefirst.api.root import build_api
from queuefirst.local import EntityQueues, http_event
from queuefirst.model.registry import Registry
from queuefirst.runtime.settings import ApiSettings, WorkerSettings
from queuefirst.store.database import Database
from queuefirst.worker.handler import make_handler
from queuefirst.worker.root import build_worker
from tests.helpers import OPERATOR, Context, api_event, bodies, deliver, receive_event

pytestmark = pytest.mark.integration

Call = Callable[..., tuple[int, Any, dict[str, str]]]
BOARD = {"title": "Todo"}


@pytest.fixture(scope="module")
def api_handler(notes: Registry, notes_url: str, sqs_endpoint: str, notes_session_queues: Any) -> Any:
    settings = ApiSettings(
        DATABASE_URL=notes_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_MAX_BODY_BYTES=4096
    )
    return build_api(notes, settings)


@pytest.fixture
def call(api_handler: Any, notes: Registry, notes_db: Database, notes_queues: Any) -> Call:
    def invoke(
        method: str, path: str, body: Any = None, query: str = "", raw: bytes | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"content-type": "application/json"} if data else {}
        event = api_event(notes, method, path, query=query, body=data, headers=headers)
        response = api_handler(event, Context())
        text = response.get("body") or "null"
        return response["statusCode"], json.loads(text), response.get("headers", {})

    return invoke


@pytest.fixture
def apply(
    notes: Registry, notes_url: str, sqs_endpoint: str, sqs_client: Any, notes_queues: dict[str, EntityQueues]
) -> Callable[[str], None]:
    """Run an entity's worker over what its queue holds (the api never writes)."""
    handlers: dict[str, Any] = {}

    def run(entity: str) -> None:
        if entity not in handlers:
            settings = WorkerSettings(
                DATABASE_URL=notes_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_ENTITY=entity
            )
            handlers[entity] = make_handler(build_worker("notes", notes[entity], settings))
        assert deliver(handlers[entity], sqs_client, notes_queues[entity])[1] == {"batchItemFailures": []}

    return run


def test_create_answers_202_and_enqueues_a_command_without_writing(
    call: Call, sqs_client: Any, notes_queues: dict[str, EntityQueues]
) -> None:
    status, body, _ = call("POST", "/boards", BOARD)
    assert status == 202
    assert set(body) == {"id", "command_id", "status_url"}
    assert uuid.UUID(body["id"]).version == 7
    assert body["status_url"] == f"/operator-commands/{body['command_id']}"  # an operator sent it
    assert call("GET", f"/boards/{body['id']}")[0] == 404  # queued, not written
    event = receive_event(sqs_client, notes_queues["boards"])
    (command,) = bodies(event)
    assert command["op"] == "create" and command["key"] == body["id"]
    assert command["payload"] == {"title": "Todo"}
    assert command["command_id"] == body["command_id"]
    assert command["producer"] == {"kind": "api", "principal": f"operator:{OPERATOR}"}
    assert event["Records"][0]["attributes"]["MessageGroupId"] == body["id"]


def test_full_lifecycle_with_client_ids_status_and_conflicts(
    call: Call, apply: Callable[[str], None]
) -> None:
    status, created, _ = call("POST", "/boards", {**BOARD, "id": "b-1"})
    assert (status, created["id"]) == (202, "b-1")
    assert call("GET", created["status_url"])[1]["status"] == "pending"
    apply("boards")
    assert call("GET", created["status_url"])[1] == {
        "command_id": created["command_id"],
        "entity": "boards",
        "op": "create",
        "key": "b-1",
        "scope": "row",
        "version": call("GET", created["status_url"])[1]["version"],
        "status": "applied",
        "producer": {"kind": "api", "principal": f"operator:{OPERATOR}"},
    }
    assert call("GET", "/boards/b-1")[1] == {"id": "b-1", "title": "Todo", "closed": False}
    status, body, _ = call("POST", "/boards", {**BOARD, "id": "b-1"})
    assert (status, body["error"]["field"]) == (409, "id")

    assert call("PATCH", "/boards/b-1", {"title": "Doing"})[0] == 202
    apply("boards")
    assert call("GET", "/boards/b-1")[1]["title"] == "Doing"

    assert call("DELETE", "/boards/b-1")[0] == 202
    apply("boards")
    assert call("GET", "/boards/b-1")[0] == 404


def test_an_action_is_queued_checked_first_and_its_status_says_what_became_of_it(
    call: Call, apply: Callable[[str], None], sqs_client: Any, notes_queues: dict[str, EntityQueues]
) -> None:
    call("POST", "/boards", {**BOARD, "id": "b1"})
    apply("boards")
    status, closing, _ = call("POST", "/boards/b1/close")
    assert status == 202
    status, refused, _ = call("POST", "/boards/b9/close")
    assert (status, refused["error"]["code"]) == (404, "not_found")
    apply("boards")
    assert call("GET", "/boards/b1")[1]["closed"] is True
    assert call("GET", closing["status_url"])[1]["status"] == "applied"
    # The api runs the board's own rule on the board as it stands: already closed.
    status, body, _ = call("POST", "/boards/b1/close")
    assert (status, body["error"]) == (409, {"code": "conflict", "message": "the board is already closed"})


def test_a_rejection_the_api_could_not_foresee_is_reported_at_its_status_url(
    call: Call, apply: Callable[[str], None]
) -> None:
    call("POST", "/boards", {**BOARD, "id": "b1"})
    apply("boards")
    first = call("POST", "/boards/b1/close")[1]
    second = call("POST", "/boards/b1/close")[1]  # both pass the courtesy check: not applied yet
    apply("boards")
    assert call("GET", first["status_url"])[1]["status"] == "applied"
    status = call("GET", second["status_url"])[1]
    assert (status["status"], status["reason"]) == ("rejected", "the board is already closed")


def test_children_check_their_parent_and_cannot_move(call: Call, apply: Callable[[str], None]) -> None:
    status, body, _ = call("POST", "/cards", {"board_id": "ghost", "text": "x"})
    assert (status, body["error"]["field"]) == (409, "board_id")
    call("POST", "/boards", {**BOARD, "id": "b1"})
    apply("boards")
    assert call("POST", "/cards", {"board_id": "b1", "text": "x", "id": "c1"})[0] == 202
    apply("cards")
    status, body, _ = call("PATCH", "/cards/c1", {"board_id": "b2"})
    assert (status, body["error"]["field"]) == (422, "board_id")
    status, body, _ = call("PATCH", "/cards/c1", {"done": True})  # only its action sets it
    assert (status, body["error"]["field"]) == (422, "done")
    assert call("POST", "/cards/c1/complete")[0] == 202
    apply("cards")
    assert call("GET", "/cards/c1")[1] == {"id": "c1", "board_id": "b1", "text": "x", "done": True}


def test_list_paginates_by_key_and_filters_by_parent(call: Call, apply: Callable[[str], None]) -> None:
    for i in range(2):
        call("POST", "/boards", {**BOARD, "id": f"b{i}"})
    apply("boards")
    for i in range(5):
        call("POST", "/cards", {"board_id": f"b{i % 2}", "text": "t", "id": f"c{i}"})
    apply("cards")
    status, page, _ = call("GET", "/cards", query="limit=2")
    assert status == 200
    assert [c["id"] for c in page["items"]] == ["c0", "c1"] and page["next_after"] == "c1"
    page = call("GET", "/cards", query="limit=2&after=c3")[1]
    assert [c["id"] for c in page["items"]] == ["c4"] and page["next_after"] is None
    page = call("GET", "/cards", query="board_id=b1")[1]
    assert [c["id"] for c in page["items"]] == ["c1", "c3"]


@pytest.mark.parametrize(
    ("method", "path", "body", "query", "status", "field"),
    [
        ("POST", "/boards", {"title": ""}, "", 422, "title"),
        ("POST", "/boards", {}, "", 422, "title"),
        ("POST", "/boards", {**BOARD, "colour": "red"}, "", 422, "colour"),
        ("POST", "/boards", {**BOARD, "id": "has space"}, "", 422, "id"),
        ("POST", "/boards", {"title": 5}, "", 422, "title"),
        ("POST", "/cards", {"board_id": "b1", "text": "t", "done": 1}, "", 422, "done"),
        ("PATCH", "/boards/nobody", {"title": "x"}, "", 404, "id"),
        ("PATCH", "/boards/nobody", {"colour": "x"}, "", 422, "colour"),
        ("PATCH", "/boards/nobody", {"title": None}, "", 422, "title"),
        ("DELETE", "/boards/nobody", None, "", 404, "id"),
        ("GET", "/boards/nobody", None, "", 404, "id"),
        ("GET", "/boards/bad%20id", None, "", 422, "id"),
        ("GET", "/boards", None, "limit=0", 422, "limit"),
        ("GET", "/boards", None, "limit=many", 422, "limit"),
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
    status, body, _ = call("POST", "/boards", raw=b'{"title": ')
    assert (status, body["error"]["field"]) == (400, "body")


def test_oversized_body_is_413(call: Call) -> None:
    status, body, _ = call("POST", "/boards", {"title": "x" * 5000})
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


def test_unknown_route_is_404_and_wrong_method_is_405(call: Call) -> None:
    assert call("GET", "/nothing-here")[0] == 404
    status, body, headers = call("PUT", "/boards/b1", BOARD)
    assert status == 405 and body["error"]["code"] == "method_not_allowed"
    assert headers["Allow"] == "DELETE, GET, PATCH"
    assert call("GET", "/boards/b1/close")[2]["Allow"] == "POST"


def test_openapi_document_lists_every_route(call: Call, notes: Registry) -> None:
    status, document, _ = call("GET", "/openapi.json")
    assert status == 200
    for name in notes:
        assert {"get", "post"} <= set(document["paths"][f"/{name}"])
        assert {"get", "patch", "delete"} <= set(document["paths"][f"/{name}/{{key}}"])
    assert "post" in document["paths"]["/boards/{key}/close"]
    assert "/commands/{command_id}" in document["paths"]


def test_docs_show_the_contract_itself_with_assets_served_by_the_function(api_handler: Any) -> None:
    """Swagger UI of the very document /openapi.json answers (not Powertools' own
    derivation of it), its script and styles inline: nothing is fetched from a CDN."""
    response = api_handler(http_event("GET", "/docs"), Context())
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    page = response["body"]
    assert "SwaggerUIBundle" in page and "<style>" in page and "https://" not in page.split("<script>")[0]
    document = json.loads(api_handler(http_event("GET", "/openapi.json"), Context())["body"])
    assert json.dumps(document).replace("</", "<\\/") in page


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT"]),
    path=st.sampled_from(
        ["/boards", "/boards/x", "/cards", "/cards/1", "/boards/x/close", "/commands/x", "/"]
    )
    | st.text(min_size=1, max_size=30).map(lambda s: "/" + s),
    body=st.none()
    | st.binary(max_size=200)
    | st.dictionaries(
        st.sampled_from(["title", "text", "id", "board_id", "done", "x"]),
        st.none() | st.integers() | st.text(max_size=20) | st.booleans(),
        max_size=5,
    ).map(lambda d: json.dumps(d).encode()),
    query=st.sampled_from(["", "limit=5", "limit=-1", "after=%00", "limit=1&limit=2", "board_id="]),
)
def test_no_client_input_yields_a_5xx(
    api_handler: Any, notes: Registry, method: str, path: str, body: bytes | None, query: str
) -> None:
    headers = {"content-type": "application/json"}
    event = api_event(notes, method, path, query=query, body=body, headers=headers)
    response = api_handler(event, Context())
    assert response["statusCode"] < 500, response


def test_the_api_emits_its_own_metrics(call: Call, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    call("GET", "/boards/nobody")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    emf = next(line for line in lines if "_aws" in line)
    names = {m["Name"] for d in emf["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    # Only the api records these. (Powertools shares metric state within a
    # process, so the dimensions show whichever function was built last: on
    # Lambda a process is one function.)
    assert {"Requests", "ClientErrors", "RequestLatency"} <= names
