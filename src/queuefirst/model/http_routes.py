"""The HTTP API's routes, each with the function it reaches and the authorizer it requires.

One table, generated from the registry, read by everything that routes or
secures a request: the local gateway (which verifies tokens per route, as
API Gateway does), the infrastructure (one HTTP API route per entry, each
with its JWT authorizer), the api (which checks the principal a route admits)
and the OpenAPI document (each operation's security).

A route's `authorizer` is `USERS`, `OPERATORS` or None (public). Routes
are API Gateway's: `GET /customers/{key}`; `$default` takes what no other
route matches, through the end users' authorizer (the api answers 404/405).

Other functions add their own routes the same way: the admin console's
`/admin/...` pages name the `admin` function and the `OPERATORS`
authorizer, its login page and assets None.
"""

from __future__ import annotations

from dataclasses import dataclass

from queuefirst.model.actions import Action
from queuefirst.model.entity import Entity
from queuefirst.model.names import admin_function_name, api_function_name
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst.model.registry import Registry

DEFAULT_ROUTE = "$default"
ANY = "ANY"
# Read by anyone: the contract and its page carry no data.
PUBLIC_API_PATHS = ("/openapi.json", "/docs")
KEY = "{key}"
# Where each population reads the status of the commands it sent (a route has one
# authorizer); a hyphen, which no entity name has, so no entity's route can clash.
STATUS_PATHS = {USERS: "/commands", OPERATORS: "/operator-commands"}


@dataclass(frozen=True)
class HttpRoute:
    method: str  # GET, POST, ..., or ANY
    path: str  # API Gateway's syntax: /orders/{key}; "$default" for the catch-all
    function: str
    authorizer: str | None
    scopes: tuple[str, ...] = ()  # a token must carry one of them, if any are named

    @property
    def key(self) -> str:
        """The route key, as API Gateway writes it (`GET /orders/{key}`, `$default`)."""
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"

    @property
    def is_public(self) -> bool:
        return self.authorizer is None


def readers(entity: Entity) -> str:
    """The authorizer of an entity's reads (a row, a list)."""
    return USERS if entity.access.users_read else OPERATORS


def writers(entity: Entity) -> str:
    """The authorizer of an entity's create, update and delete."""
    return USERS if entity.access.users_write else OPERATORS


def actors(entity: Entity, action: Action) -> str:
    """The authorizer of an action's route: an operator action is operators' even on owned rows."""
    return OPERATORS if action.operators_only else writers(entity)


def entity_routes(entity: Entity, function: str) -> list[HttpRoute]:
    base, row = f"/{entity.name}", f"/{entity.name}/{KEY}"
    routes = [
        HttpRoute("GET", base, function, readers(entity)),
        HttpRoute("POST", base, function, writers(entity)),
        HttpRoute("GET", row, function, readers(entity)),
        HttpRoute("PATCH", row, function, writers(entity)),
        HttpRoute("DELETE", row, function, writers(entity)),
    ]
    routes += [
        HttpRoute("POST", f"{row}/{action.name}", function, actors(entity, action))
        for action in entity.actions.values()
        if action.public
    ]
    return routes


def api_routes(registry: Registry) -> list[HttpRoute]:
    """Every route of the api function, the public ones and the catch-all included."""
    function = api_function_name(registry.app)
    routes = [route for entity in registry.values() for route in entity_routes(entity, function)]
    routes += [
        HttpRoute("GET", f"{base}/{{command_id}}", function, kind) for kind, base in STATUS_PATHS.items()
    ]
    routes += [HttpRoute("GET", path, function, None) for path in PUBLIC_API_PATHS]
    routes.append(HttpRoute(ANY, DEFAULT_ROUTE, function, USERS))
    return routes


# The admin console (`queuefirst.admin`): every page address serves a public shell that
# holds no data; the views and the changes live under ADMIN_VIEWS, behind the operators'
# authorizer, and are read by the shell's script with the operator's bearer token.
ADMIN_BASE = "/admin"
ADMIN_VIEWS = "/admin/x"


def admin_routes(registry: Registry) -> list[HttpRoute]:
    """The console's routes: public shell, login page and assets; operators' views."""
    function = admin_function_name(registry.app)
    return [
        HttpRoute("GET", ADMIN_BASE, function, None),
        HttpRoute("GET", f"{ADMIN_BASE}/{{proxy+}}", function, None),
        HttpRoute(ANY, f"{ADMIN_VIEWS}/{{proxy+}}", function, OPERATORS),
    ]
