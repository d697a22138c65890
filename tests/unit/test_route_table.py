"""The route table is the api's one declaration of its routes (issue 17): the resolver's
registrations, its 405 answers and the OpenAPI document's responses all come from it, so an
action declared in an entity's module reaches each of them with nothing else edited.

The api's resolver runs on HTTP API (2.0) events; nothing here reaches a handler's reads (a body
is refused, or the path has no such method, before anything is read), so no server runs.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from queuefirst.api.app import build_resolver
from queuefirst.api.contract import GATEWAY_STATUSES
from queuefirst.api.service import ApiService
from queuefirst.api.versioning import VersionClock
from queuefirst.model.declarations import Audience
from queuefirst.model.http_routes import HttpRoute, RouteKind, api_routes
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst.model.registry import Registry
from queuefirst.store.database import Database
from tests.fixtures.club import club
from tests.helpers import Context, api_event

NOWHERE = "postgresql://nobody@127.0.0.1:9/none"  # never opened: nothing here reads
METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT")


BUILT: dict[int, tuple[Registry, Any]] = {}  # by the registry's identity (registries do not hash)


def resolver(registry: Registry) -> Any:
    if id(registry) not in BUILT:
        service = ApiService(registry, Database(NOWHERE), None, VersionClock())  # type: ignore[arg-type]
        BUILT[id(registry)] = (registry, build_resolver(service, page_limit_max=10, title="t"))
    return BUILT[id(registry)][1]


def call(registry: Registry, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"} if data else {}
    response = resolver(registry).resolve(
        api_event(registry, method, path, body=data, headers=headers), Context()
    )
    headers = response.get("headers") or {}
    is_json = headers.get("Content-Type") == "application/json"
    return response["statusCode"], headers, json.loads(response["body"] or "null") if is_json else None


def document(registry: Registry) -> dict[str, Any]:
    status, _, body = call(registry, "GET", "/openapi.json")
    assert status == 200
    return body  # type: ignore[no-any-return]


def operations(registry: Registry) -> set[str]:
    """What the resolver registered, as the document it derives from its registrations lists."""
    return {f"{m.upper()} {path}" for path, item in document(registry)["paths"].items() for m in item}


def keys(registry: Registry, *kinds: RouteKind) -> set[str]:
    return {r.key for r in api_routes(registry) if not kinds or r.kind in kinds}


def concrete(path: str) -> str:
    return path.replace("{key}", "k1").replace("{command_id}", str(uuid.UUID(int=1)))


SUCCESS_BODY = {
    RouteKind.LIST: "{row}Page",
    RouteKind.CREATE: "Accepted",
    RouteKind.READ: "{row}",
    RouteKind.UPDATE: "Accepted",
    RouteKind.DELETE: "Accepted",
    RouteKind.ACTION: "Accepted",
    RouteKind.COMMAND_STATUS: "CommandStatus",
}

CLUB = club()
# The kinds its document lists: the contract's own pages and the catch-all are no operations.
DOCUMENTED = tuple(SUCCESS_BODY)


def test_an_action_declared_in_its_entity_reaches_the_registrations_the_405s_and_the_document() -> None:
    before, after = club(), club(extra_action=True)
    assert keys(after) - keys(before) == {"POST /members/{key}/wave"}
    assert operations(after) - operations(before) == {"POST /members/{key}/wave"}
    # Registered: its body is the action's input, checked before anything is read ...
    status, _, body = call(after, "POST", "/members/k1/wave", {"text": 5})
    assert (status, body["error"]["field"]) == (422, "text")
    assert call(before, "POST", "/members/k1/wave", {"text": "hi"})[0] == 404  # ... where, before, no route
    # Its path answers 405 for the methods it lacks, and says which it has.
    status, headers, _ = call(after, "GET", "/members/k1/wave")
    assert (status, headers["Allow"]) == (405, "POST")
    wave = document(after)["paths"]["/members/{key}/wave"]["post"]
    assert {"202", "401", "404", "409", "422"} <= set(wave["responses"])
    assert wave["security"] == [{USERS: []}] and wave["summary"] == "Wave at the club."


def test_each_action_is_routed_as_its_audience_says() -> None:
    """Each decorator declares its action's audience, and the route table reads it (`actors`)."""
    registry = club()
    audiences = {name: action.audience for name, action in registry["members"].actions.items()}
    assert audiences == {"rename": Audience.END_USERS, "ban": Audience.OPERATORS, "poke": Audience.INTERNAL}
    table = {r.key: r for r in api_routes(registry)}
    assert table["POST /members/{key}/rename"].authorizer == USERS
    assert table["POST /members/{key}/ban"].authorizer == OPERATORS  # even on rows end users own
    assert not any("poke" in key for key in table)  # asked by other entities, no route
    assert call(registry, "POST", "/members/k1/poke")[0] == 404


@pytest.mark.parametrize("app", ["shop", "notes", "club"])
def test_the_resolver_registers_the_tables_routes_and_no_other(
    app: str, shop: Registry, notes: Registry
) -> None:
    registry = {"shop": shop, "notes": notes, "club": CLUB}[app]
    assert operations(registry) == keys(registry, *DOCUMENTED)
    for route in (r for r in api_routes(registry) if r.kind is RouteKind.PUBLIC_DOC):
        assert call(registry, route.method, route.path)[0] == 200, route.key  # served, outside the document


def test_every_path_of_the_table_answers_405_with_the_methods_the_table_gives_it(shop: Registry) -> None:
    routes = [r for r in api_routes(shop) if r.kind is not RouteKind.DEFAULT]
    for path in {r.path for r in routes}:
        allowed = sorted(r.method for r in routes if r.path == path)
        for method in set(METHODS) - set(allowed):
            status, headers, body = call(shop, method, concrete(path))
            assert (status, headers.get("Allow")) == (405, ", ".join(allowed)), (method, path, body)
    assert call(shop, "GET", "/nowhere")[0] == 404


def documented(registry: Registry, route: HttpRoute) -> dict[str, Any]:
    operation: dict[str, Any] = document(registry)["paths"][route.path][route.method.lower()]
    return operation


@pytest.mark.parametrize("kind", DOCUMENTED)
def test_the_documents_answers_are_the_tables_statuses_per_kind(shop: Registry, kind: RouteKind) -> None:
    routes = [r for r in api_routes(shop) if r.kind is kind]
    assert routes
    for route in routes:
        responses = documented(shop, route)["responses"]
        assert set(responses) == {str(s) for s in route.statuses | set(GATEWAY_STATUSES)}, route.key
        row = route.entity.title().replace("_", "") if route.entity else ""
        schema = responses[str(route.success)]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{SUCCESS_BODY[kind].format(row=row)}"}, route.key
        assert "Error" in json.dumps(responses["422"]) and "GatewayError" in json.dumps(responses["401"])
        if route.success == 202:
            assert "CommandStatus" in responses["202"]["links"], route.key
    # What each kind adds to what every route answers: its own refusals.
    expected = {
        RouteKind.READ: {404},
        RouteKind.UPDATE: {404, 409},
        RouteKind.DELETE: {404},
        RouteKind.ACTION: {404, 409},
        RouteKind.COMMAND_STATUS: {404},
    }
    for route in routes:
        statuses, key = {s for s in route.statuses if s in (404, 409)}, route.key
        owned = route.entity is not None and shop[route.entity].access.owned
        if kind is RouteKind.LIST:
            assert statuses == ({404} if owned else set()), key  # a filter out of reach
        elif kind is RouteKind.CREATE:
            assert statuses == ({404, 409} if owned else {409}), key  # a parent out of reach
        else:
            assert statuses == expected[kind], key
