"""With the queue service or the database down, every route that needs it answers 503 "retry",
as the api's contract and the README say: never a 500. The api over real HTTP API events;
its SQS endpoint or its PostgreSQL a closed port on this machine (nothing listens there)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from queuefirst.api.root import build_api
from queuefirst.local import free_port
from queuefirst.model.http_routes import DEFAULT_ROUTE, PUBLIC_API_PATHS, HttpRoute, api_routes
from queuefirst.model.registry import Registry
from queuefirst.runtime.settings import ApiSettings
from queuefirst.store.database import Database
from queuefirst.store.entity_store import EntityStore
from queuefirst.worker.batch import BatchApplier, Message
from tests.helpers import Context, api_event, command

pytestmark = pytest.mark.integration

BODIES = {
    ("POST", "/boards"): {"title": "t"},
    ("POST", "/cards"): {"board_id": "b1", "text": "t"},
    ("PATCH", "/boards/{key}"): {"title": "u"},
    ("PATCH", "/cards/{key}"): {"text": "u"},
}
KEYS = {"boards": "b1", "cards": "c1"}


def request(route: HttpRoute) -> tuple[str, str, bytes | None]:
    entity = route.path.strip("/").split("/")[0]
    path = route.path.replace("{key}", KEYS.get(entity, "x")).replace("{command_id}", str(uuid.uuid4()))
    body = BODIES.get((route.method, route.path))
    if body is None and route.method == "POST" and route.path.count("/") == 3:
        body = {}  # an action without input
    return route.method, path, json.dumps(body).encode() if body is not None else None


def routes(registry: Registry, *, writes: bool) -> list[HttpRoute]:
    found = [
        r
        for r in api_routes(registry)
        if r.path != DEFAULT_ROUTE and r.path not in PUBLIC_API_PATHS and r.method != "ANY"
    ]
    return [r for r in found if (r.method != "GET") == writes] if writes else found


def call(api: Any, registry: Registry, route: HttpRoute) -> tuple[int, dict[str, Any]]:
    method, path, body = request(route)
    headers = {"content-type": "application/json"} if body else {}
    response = api(api_event(registry, method, path, body=body, headers=headers), Context())
    return response["statusCode"], json.loads(response["body"])


class Unsent:
    def send(self, commands: Any) -> None:
        pass


@pytest.fixture
def rows(notes: Registry, notes_db: Database) -> None:
    """Board b1 and card c1 exist, so every write gets as far as its send."""
    for entity, created in (
        ("boards", command(notes["boards"], "create", "b1", {"title": "t"})),
        ("cards", command(notes["cards"], "create", "c1", {"board_id": "b1", "text": "t"})),
    ):
        store = EntityStore(notes[entity], notes_db)
        report = BatchApplier(notes[entity], store, Unsent()).apply(  # type: ignore[arg-type]
            [Message("m", created.to_json(), created.lane)]
        )
        assert not report.failures


def test_with_sqs_down_every_write_answers_503_and_every_read_still_answers(
    notes: Registry, notes_url: str, rows: None
) -> None:
    api = build_api(
        notes, ApiSettings(DATABASE_URL=notes_url, SQS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    )
    answers = {r.key: call(api, notes, r) for r in routes(notes, writes=True)}
    assert len(answers) >= 8  # creates, updates, deletes and actions of both entities
    for key, (status, body) in answers.items():
        assert (status, body["error"]["code"]) == (503, "unavailable"), (key, body)
        assert body["error"]["message"] == "the queue did not accept the command; retry"
    reads = {r.key: call(api, notes, r)[0] for r in routes(notes, writes=False) if r.method == "GET"}
    assert set(reads.values()) == {200}, reads


def test_with_the_database_down_every_route_answers_503(notes: Registry, sqs_endpoint: str) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    api = build_api(notes, ApiSettings(DATABASE_URL=url, SQS_ENDPOINT_URL=sqs_endpoint))
    answers = {r.key: call(api, notes, r) for r in routes(notes, writes=False)}
    assert len(answers) >= 12
    for key, (status, body) in answers.items():
        assert (status, body["error"]["message"]) == (503, "the database is unavailable; retry"), (key, body)
