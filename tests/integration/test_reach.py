"""Cross-tenant attempts, generated from the registry: end user ann names bob's rows every way
an id reaches the api, on every route, and gets 404 (401 on the operators' routes), with nothing
enqueued; the same requests on her own rows succeed.

Real PostgreSQL, real SQS-compatible server, the shop's api and workers in-process, on queues
of their own (the shop's entities under the application name `reach`), so no other test's
messages count as enqueued here. Events carry the claims API Gateway's JWT authorizer would
have verified (AWS itself can't run here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from queuefirst.api.root import build_api
from queuefirst.local import EntityQueues, ensure_queues
from queuefirst.model.access import Owner
from queuefirst.model.entity import Entity
from queuefirst.model.http_routes import STATUS_PATHS, actors, readers, writers
from queuefirst.model.payloads import action_body_model, create_body_model, patch_body_model
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst.model.registry import Registry
from queuefirst.runtime.settings import ApiSettings, WorkerSettings
from queuefirst.worker.handler import make_handler
from queuefirst.worker.root import build_worker
from tests.conftest import drain, truncate
from tests.helpers import TEST_ISSUERS, Context, api_event, deliver
from tests.strategies import valid_body

pytestmark = pytest.mark.integration

ANN, BOB = "ann", "bob"
Body = st.SearchStrategy[dict[str, Any]] | None


@dataclass
class World:
    """Ann's and bob's rows (one per owned entity each), a row of each shared entity, and bob's command."""

    registry: Registry
    api: Any
    queues: dict[str, EntityQueues]
    client: Any
    rows: dict[str, dict[str, tuple[str, str | None]]] = field(
        default_factory=dict
    )  # tenant -> entity -> key, parent
    shared: dict[str, str] = field(default_factory=dict)  # entity -> key
    commands: dict[str, str] = field(default_factory=dict)  # tenant -> a command id it sent

    def call(self, method: str, path: str, body: Any = None, query: str = "", *, who: str) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"content-type": "application/json"} if data else {}
        kind = OPERATORS if who == OPERATORS else USERS  # an end user's claims, whatever the route
        event = api_event(
            self.registry, method, path, as_user=who, kind=kind, query=query, body=data, headers=headers
        )
        response = self.api(event, Context())
        return response["statusCode"], json.loads(response["body"] or "null")

    def queued(self) -> dict[str, int]:
        counts = {}
        for name, queue in self.queues.items():
            attributes = self.client.get_queue_attributes(
                QueueUrl=queue.url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            counts[name] = sum(int(v) for v in attributes.values())
        return counts


def owned_parents_first(registry: Registry) -> list[Entity]:
    ordered: list[Entity] = []
    while len(ordered) < sum(e.access.owned for e in registry.values()):
        for entity in registry.values():
            parent_done = entity.parent is None or registry[entity.parent] in ordered
            if entity.access.owned and entity not in ordered and parent_done:
                ordered.append(entity)
    return ordered


def simplest(strategy: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    return find(strategy, lambda _: True)


def apply_all(world: World, workers: dict[str, Any]) -> None:
    """Run every worker until no queue holds anything (asks included)."""
    for _ in range(6):
        for name in world.registry:
            deliver(workers[name], world.client, world.queues[name], wait=0)
        if not any(world.queued().values()):
            return
    raise AssertionError(f"queues not drained: {world.queued()}")


@pytest.fixture(scope="module")
def world(shop: Registry, shop_url: str, sqs_endpoint: str, sqs_client: Any) -> Iterator[World]:
    truncate(shop_url, shop)
    registry = Registry("reach", list(shop.values()))  # the shop's entities, queues of their own
    queues = ensure_queues(sqs_client, registry)
    for queue in queues.values():
        drain(sqs_client, queue.url)
    settings = ApiSettings(
        DATABASE_URL=shop_url,
        SQS_ENDPOINT_URL=sqs_endpoint,
        QUEUEFIRST_USERS_ISSUER=TEST_ISSUERS[USERS],
        QUEUEFIRST_OPERATORS_ISSUER=TEST_ISSUERS[OPERATORS],
    )
    world = World(registry, build_api(registry, settings), queues, sqs_client)
    workers = {
        name: make_handler(
            build_worker(
                registry.app,
                entity,
                WorkerSettings(DATABASE_URL=shop_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_ENTITY=name),
            )
        )
        for name, entity in registry.items()
    }
    # A row of every entity no end user owns that an owned one references (an order item's product).
    for entity in owned_parents_first(registry):
        for target in entity.referenced.values():
            if target not in world.shared:
                key = f"{target}-shared"
                body = simplest(valid_body(create_body_model(registry[target]), id=key))
                assert world.call("POST", f"/{target}", body, who=OPERATORS)[0] == 202
                world.shared[target] = key
    apply_all(world, workers)
    if "products" in world.shared:  # the shop's items reserve stock: the product has some
        restock = {"quantity": 1000}
        assert (
            world.call("POST", f"/products/{world.shared['products']}/restock", restock, who=OPERATORS)[0]
            == 202
        )
        apply_all(world, workers)
    for tenant in (ANN, BOB):
        world.rows[tenant] = {}
        for entity in owned_parents_first(registry):
            key = tenant if entity.access.owner is Owner.SELF else f"{entity.name}-{tenant}"
            parent = world.rows[tenant][entity.parent][0] if entity.parent else None
            fixed: dict[str, Any] = {"id": key}
            if entity.parent_field:
                fixed[entity.parent_field] = parent
            fixed |= {name: world.shared[target] for name, target in entity.referenced.items()}
            body = simplest(valid_body(create_body_model(entity), **fixed))
            status, accepted = world.call("POST", f"/{entity.name}", body, who=tenant)
            assert status == 202, accepted
            world.rows[tenant][entity.name] = (key, parent)
            world.commands.setdefault(tenant, accepted["command_id"])
            apply_all(world, workers)
    yield world
    for queue in queues.values():
        drain(sqs_client, queue.url)


@dataclass(frozen=True)
class Attempt:
    """A request on the `target` tenant's rows; out of reach it answers `status` naming `field`."""

    what: str
    method: str
    path: str
    query: str = ""
    body: Body = None
    status: int = 404
    field: str | None = "id"


def attempts(world: World, target: str) -> list[Attempt]:
    """Every way an end user names a row, on every route, generated from the registry."""
    registry, rows, found = world.registry, world.rows[target], []
    for entity in owned_parents_first(registry):
        key, parent = rows[entity.name]
        base = f"/{entity.name}"
        if readers(entity) == USERS:
            found.append(Attempt(f"read {entity.name}", "GET", f"{base}/{key}"))
            found.append(Attempt(f"page {entity.name} after", "GET", base, f"after={key}", field="after"))
            if entity.parent_field:
                pf = entity.parent_field
                found.append(
                    Attempt(f"list {entity.name} by parent", "GET", base, f"{pf}={parent}", field=pf)
                )
        if writers(entity) == USERS:
            if entity.updatable_fields:  # (no PATCH route otherwise)
                patch = valid_body(patch_body_model(entity))
                found.append(Attempt(f"patch {entity.name}", "PATCH", f"{base}/{key}", body=patch))
            found.append(Attempt(f"delete {entity.name}", "DELETE", f"{base}/{key}"))
            fixed = {name: world.shared[t] for name, t in entity.referenced.items()}
            create = create_body_model(entity)
            if entity.access.owner is Owner.SELF:
                found.append(
                    Attempt(f"create {entity.name} as", "POST", base, body=valid_body(create, id=key))
                )
            elif entity.parent_field:
                under = valid_body(create, **{entity.parent_field: parent}, **fixed)
                found.append(
                    Attempt(
                        f"create {entity.name} under", "POST", base, body=under, field=entity.parent_field
                    )
                )
        for action in entity.actions.values():
            takers = actors(entity, action)
            if takers is None:
                continue  # no route
            body = valid_body(action_body_model(action))
            status = 401 if takers == OPERATORS else 404
            found.append(
                Attempt(
                    f"{action.name} {entity.name}",
                    "POST",
                    f"{base}/{key}/{action.name}",
                    body=body,
                    status=status,
                )
            )
    for entity in (e for e in registry.values() if not e.access.owned):
        key, base = world.shared.get(entity.name, f"{entity.name}-none"), f"/{entity.name}"
        create = valid_body(create_body_model(entity))
        found += [
            Attempt(f"create {entity.name}", "POST", base, body=create, status=401),
            Attempt(f"delete {entity.name}", "DELETE", f"{base}/{key}", status=401),
        ]
        if entity.updatable_fields:
            patch = valid_body(patch_body_model(entity))
            found.append(Attempt(f"patch {entity.name}", "PATCH", f"{base}/{key}", body=patch, status=401))
    command = world.commands[target]
    found.append(Attempt("command status", "GET", f"{STATUS_PATHS[USERS]}/{command}", field="command_id"))
    found.append(Attempt("operators' status", "GET", f"{STATUS_PATHS[OPERATORS]}/{command}", status=401))
    return found


SLOW = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))


def test_the_attempts_cover_every_route_an_end_user_can_name(world: World) -> None:
    tried = {(a.method, a.path.split("/")[1]) for a in attempts(world, BOB)}
    assert len(attempts(world, BOB)) >= 25
    for entity in world.registry:
        assert ("GET", entity) in tried or not world.registry[entity].access.owned  # others all may read
        patchable = bool(world.registry[entity].updatable_fields)  # no PATCH route otherwise
        assert ("POST", entity) in tried and ("DELETE", entity) in tried, entity
        assert (("PATCH", entity) in tried) == patchable, entity


@SLOW
@given(data=st.data())
def test_ann_reaches_nothing_of_bobs(world: World, data: st.DataObject) -> None:
    for attempt in attempts(world, BOB):
        body = data.draw(attempt.body, label=attempt.what) if attempt.body is not None else None
        status, answer = world.call(attempt.method, attempt.path, body, attempt.query, who=ANN)
        if attempt.status == 401:
            assert (status, answer) == (401, {"message": "Unauthorized"}), (attempt.what, status, answer)
        else:
            assert (status, answer["error"]["code"], answer["error"].get("field")) == (
                404,
                "not_found",
                attempt.field,
            ), (attempt.what, answer)
        assert not any(world.queued().values()), f"{attempt.what} enqueued something"


def test_a_list_shows_an_end_user_only_their_own_rows(world: World) -> None:
    for entity in owned_parents_first(world.registry):
        status, page = world.call("GET", f"/{entity.name}", who=ANN)
        assert status == 200
        assert [row["id"] for row in page["items"]] == [world.rows[ANN][entity.name][0]]
    # Every customer reads the catalogue.
    for target, key in world.shared.items():
        assert world.call("GET", f"/{target}/{key}", who=ANN)[0] == 200


def test_the_same_requests_on_her_own_rows_are_hers(world: World) -> None:
    """The control: what is refused above is refused for whose rows they are, not for its form."""
    for attempt in attempts(world, ANN):
        if attempt.status == 401 or attempt.method == "DELETE":
            continue
        body = find(attempt.body, lambda _: True) if attempt.body is not None else None
        if attempt.what.startswith("create"):
            body = (
                {**(body or {}), "id": ANN}
                if attempt.what.endswith(" as")
                else {**(body or {}), "id": "fresh"}
            )
        status, answer = world.call(attempt.method, attempt.path, body, attempt.query, who=ANN)
        expected = (
            {200, 202, 409} if attempt.what.startswith("create") or attempt.method == "POST" else {200, 202}
        )
        assert status in expected, (attempt.what, status, answer)
