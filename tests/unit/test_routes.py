"""The route table: generated from the entities' access declarations, and matched as API Gateway does."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from queuefirst.local import RouteTable
from queuefirst.model.access import OWNED_BY_SELF, OWNED_THROUGH_PARENT, Access
from queuefirst.model.entity import Entity
from queuefirst.model.http_routes import DEFAULT_ROUTE, HttpRoute, RouteKind, api_routes
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst.model.registry import Registry, RegistryError


class Fields(BaseModel):
    name: str = "x"


def authorizers(registry: Registry) -> dict[str, str | None]:
    return {route.key: route.authorizer for route in api_routes(registry)}


def test_the_shops_routes_follow_its_declarations(shop: Registry) -> None:
    table = authorizers(shop)
    # Customers own themselves, orders and items through their parents: every route theirs ...
    for entity in ("customers", "orders", "order_items"):
        for key in (f"GET /{entity}", f"POST /{entity}", f"GET /{entity}/{{key}}"):
            assert table[key] == USERS, key
        assert table[f"DELETE /{entity}/{{key}}"] == USERS
        if shop[entity].updatable_fields:
            assert table[f"PATCH /{entity}/{{key}}"] == USERS
    # An item's fields are all fixed or set by actions: nothing to PATCH, so no such route.
    assert "PATCH /order_items/{key}" not in table
    assert table["POST /orders/{key}/pay"] == table["POST /orders/{key}/cancel"] == USERS
    # ... but the operators' actions, even on rows customers own.
    assert table["POST /customers/{key}/suspend"] == table["POST /customers/{key}/reinstate"] == OPERATORS
    assert table["POST /orders/{key}/ship"] == OPERATORS
    # Products: every customer reads the catalogue, operators alone write it.
    assert table["GET /products"] == table["GET /products/{key}"] == USERS
    for key in ("POST /products", "PATCH /products/{key}", "DELETE /products/{key}"):
        assert table[key] == OPERATORS
    assert table["POST /products/{key}/restock"] == OPERATORS
    assert table["GET /commands/{command_id}"] == USERS
    assert table[DEFAULT_ROUTE] == USERS
    assert [key for key, authorizer in table.items() if authorizer is None] == [
        "GET /openapi.json",
        "GET /docs",
    ]


def test_an_entity_that_declares_nothing_is_the_operators_alone(notes: Registry) -> None:
    table = authorizers(notes)
    assert notes["cards"].access == Access()
    assert {table[k] for k in table if k.split(" ")[-1].startswith("/cards")} == {OPERATORS}
    # Boards are readable by every end user, written by operators.
    assert table["GET /boards"] == table["GET /boards/{key}"] == USERS
    assert table["POST /boards"] == table["POST /boards/{key}/close"] == OPERATORS


def test_ownership_through_a_parent_needs_an_owned_parent() -> None:
    root = Entity(name="lists", fields=Fields, children=("items",))
    child = Entity(
        name="items", fields=Fields, parent="lists", parent_field="list_id", access=OWNED_THROUGH_PARENT
    )
    with pytest.raises(RegistryError, match="which no end user owns"):
        Registry("t", [root, child])
    orphan = Entity(name="loose", fields=Fields, access=OWNED_THROUGH_PARENT)
    with pytest.raises(RegistryError, match="has no parent"):
        Registry("t", [orphan])
    owned_root = Entity(name="lists", fields=Fields, children=("items",), access=OWNED_BY_SELF)
    registry = Registry("t", [owned_root, child])
    assert [e.name for e in registry.owner_chain(child)] == ["items", "lists"]


ROUTES = [
    HttpRoute("GET", "/orders/{key}", "api", USERS, RouteKind.READ),
    HttpRoute("GET", "/orders/special", "api", None, RouteKind.PUBLIC_DOC),
    HttpRoute("ANY", "/orders/{key}", "api", OPERATORS, RouteKind.UPDATE),
    HttpRoute("GET", "/admin/{proxy+}", "admin", OPERATORS, RouteKind.CONSOLE_VIEW),
    HttpRoute("ANY", DEFAULT_ROUTE, "api", USERS, RouteKind.DEFAULT),
]


@pytest.mark.parametrize(
    ("method", "path", "key", "parameters"),
    [
        ("GET", "/orders/o-1", "GET /orders/{key}", {"key": "o-1"}),
        ("GET", "/orders/special", "GET /orders/special", {}),  # a literal beats a parameter
        ("PATCH", "/orders/o-1", "ANY /orders/{key}", {"key": "o-1"}),  # its own method beats ANY
        ("GET", "/orders/a%2Fb", "GET /orders/{key}", {"key": "a/b"}),  # one segment, decoded
        ("GET", "/orders/o-1/pay", DEFAULT_ROUTE, {}),
        ("GET", "/admin/pages/orders/o-1", "GET /admin/{proxy+}", {"proxy": "pages/orders/o-1"}),
        ("POST", "/anything", DEFAULT_ROUTE, {}),
    ],
)
def test_the_most_specific_route_wins(method: str, path: str, key: str, parameters: dict[str, str]) -> None:
    match = RouteTable(ROUTES).match(method, path)
    assert match is not None and (match.route.key, match.path_parameters) == (key, parameters)


def test_without_a_default_route_an_unmatched_request_matches_nothing() -> None:
    assert RouteTable(ROUTES[:2]).match("POST", "/nowhere") is None
