"""The HTTP routes, declared once: each with its method, path, function, authorizer, kind and answers.

One table, generated from the registry, read by everything that serves, routes,
secures or documents a request: the api registers one handler per route by its
kind and answers 405 with the methods the table gives a path
(`queuefirst.api`); the OpenAPI document takes each operation's responses and
security from it (`queuefirst.api.contract`); the local gateway routes and
verifies tokens by it, as API Gateway does (`queuefirst.local.routing`); the
infrastructure makes one HTTP API route per entry, each with its JWT
authorizer. So an entity or an action added to the registry appears in all of
them, and nothing else is edited.

A route's `authorizer` is `USERS`, `OPERATORS` or None (public). Paths are
API Gateway's: `/customers/{key}`; `$default` takes what no other route
matches, through the end users' authorizer (the api answers 404 or 405).

Other functions add their own routes the same way: the admin console's
`/admin/...` pages name the `admin` function and the `OPERATORS`
authorizer, its login page and assets None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from queuefirst.model.declarations import Audience, Declaration
from queuefirst.model.entity import Entity
from queuefirst.model.names import admin_function_name, api_function_name
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst.model.registry import Registry

DEFAULT_ROUTE = "$default"
ANY = "ANY"
OPENAPI_PATH, DOCS_PATH = "/openapi.json", "/docs"
# Read by anyone: the contract and its page carry no data.
PUBLIC_API_PATHS = (OPENAPI_PATH, DOCS_PATH)
KEY = "{key}"
# Where each population reads the status of the commands it sent (a route has one
# authorizer); a hyphen, which no entity name has, so no entity's route can clash.
STATUS_PATHS = {USERS: "/commands", OPERATORS: "/operator-commands"}


class RouteKind(StrEnum):
    LIST = "list"
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    ACTION = "action"
    COMMAND_STATUS = "command status"
    PUBLIC_DOC = "public doc"
    DEFAULT = "default"  # the api's 404 and 405 for whatever no other route matches
    CONSOLE_PAGE = "console page"  # the admin console's shell, login page and assets: no data
    CONSOLE_VIEW = "console view"  # the console's views and changes, for operators


OK, ACCEPTED, UNAUTHORIZED, NOT_FOUND, NOT_ALLOWED, CONFLICT = 200, 202, 401, 404, 405, 409
# What any route of the api may answer: a body is checked before routing, wherever one is sent
# (api/body.py: 400, 413, 415), fields and parameters (422), a fault of ours (500), a store or
# a queue down (503).
COMMON_ERRORS = frozenset({400, 413, 415, 422, 500, 503})
# Each kind of the api's routes: its success and the errors it adds to the common ones.
ANSWERS: dict[RouteKind, tuple[int | None, frozenset[int]]] = {
    RouteKind.LIST: (OK, frozenset()),
    RouteKind.CREATE: (ACCEPTED, frozenset({CONFLICT})),  # the id is taken; a parent not there yet
    RouteKind.READ: (OK, frozenset({NOT_FOUND})),
    RouteKind.UPDATE: (ACCEPTED, frozenset({NOT_FOUND, CONFLICT})),
    RouteKind.DELETE: (ACCEPTED, frozenset({NOT_FOUND})),
    RouteKind.ACTION: (ACCEPTED, frozenset({NOT_FOUND, CONFLICT})),  # the rules refuse it now
    RouteKind.COMMAND_STATUS: (OK, frozenset({NOT_FOUND})),  # another's command
    RouteKind.PUBLIC_DOC: (OK, frozenset()),
    RouteKind.DEFAULT: (None, frozenset({NOT_FOUND, NOT_ALLOWED})),
}
# The console answers pages (`queuefirst.admin.app`): its shell 404 for an asset it lacks, 405 for
# all but GET; its views a form's error as the api would, 401 without claims, 403 without the
# form's CSRF token; both 400, 413, 415 for a body they cannot read.
CONSOLE_PAGE_ANSWERS = frozenset({200, 400, 404, 405, 413, 415})
CONSOLE_VIEW_ANSWERS = frozenset({200, 202, 400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 503})


@dataclass(frozen=True)
class HttpRoute:
    method: str  # GET, POST, ..., or ANY
    path: str  # API Gateway's syntax: /orders/{key}; "$default" for the catch-all
    function: str
    authorizer: str | None
    kind: RouteKind
    statuses: frozenset[int] = frozenset()  # every status its function answers on it
    entity: str | None = None  # the entity it serves, where it serves one
    action: str | None = None  # the action it takes, for an action's route
    scopes: tuple[str, ...] = ()  # a token must carry one of them, if any are named

    @property
    def key(self) -> str:
        """The route key, as API Gateway writes it (`GET /orders/{key}`, `$default`)."""
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"

    @property
    def is_public(self) -> bool:
        return self.authorizer is None

    @property
    def success(self) -> int | None:
        """The status of its success, if it has one (the catch-all answers errors only)."""
        return min((s for s in self.statuses if s < 300), default=None)


@cache
def path_pattern(path: str) -> re.Pattern[str]:
    """A route's path as a pattern of the raw (percent-encoded) path: `{name}` spans one
    segment, `{name+}` the rest."""
    parts = []
    for segment in path.strip("/").split("/"):
        parameter = re.fullmatch(r"\{(\w+)(\+?)\}", segment)
        if parameter is None:
            parts.append(re.escape(segment))
        else:
            parts.append(f"(?P<{parameter[1]}>{'.+' if parameter[2] else '[^/]+'})")
    return re.compile("/" + "/".join(parts))


def readers(entity: Entity) -> str:
    """The authorizer of an entity's reads (a row, a list)."""
    return USERS if entity.access.users_read else OPERATORS


def writers(entity: Entity) -> str:
    """The authorizer of an entity's create, update and delete."""
    return USERS if entity.access.users_write else OPERATORS


def actors(entity: Entity, action: Declaration) -> str | None:
    """Who takes an action, as the authorizer of its route; None for an internal action (no route:
    only other entities ask for it). The one reading of an action's audience: the routes, the
    api's check and the console's forms all ask it."""
    if action.audience is Audience.INTERNAL:
        return None
    # An operators' action is theirs even on rows end users own; any other, the row's writers'.
    return OPERATORS if action.audience is Audience.OPERATORS else writers(entity)


def _api_route(
    kind: RouteKind,
    method: str,
    path: str,
    function: str,
    authorizer: str | None,
    entity: Entity | None = None,
    action: str | None = None,
) -> HttpRoute:
    success, errors = ANSWERS[kind]
    if entity is not None and entity.access.owned and kind in (RouteKind.LIST, RouteKind.CREATE):
        errors |= {NOT_FOUND}  # an end user's list or create naming a row out of their reach
    if authorizer is not None and kind is not RouteKind.DEFAULT:
        errors |= {UNAUTHORIZED}  # its handler finds no claims, or another issuer's (api/auth.py)
    statuses = errors | COMMON_ERRORS | ({success} if success else set())
    name = entity.name if entity else None
    return HttpRoute(method, path, function, authorizer, kind, frozenset(statuses), name, action)


def entity_routes(entity: Entity, function: str) -> list[HttpRoute]:
    base, row = f"/{entity.name}", f"/{entity.name}/{KEY}"
    reader, writer = readers(entity), writers(entity)
    routes = [
        _api_route(RouteKind.LIST, "GET", base, function, reader, entity),
        _api_route(RouteKind.CREATE, "POST", base, function, writer, entity),
        _api_route(RouteKind.READ, "GET", row, function, reader, entity),
        _api_route(RouteKind.DELETE, "DELETE", row, function, writer, entity),
    ]
    if entity.updatable_fields:  # an entity whose fields are all fixed or set by actions has no PATCH
        routes.insert(3, _api_route(RouteKind.UPDATE, "PATCH", row, function, writer, entity))
    for name, action in entity.actions.items():
        authorizer = actors(entity, action)
        if authorizer is not None:
            routes.append(
                _api_route(RouteKind.ACTION, "POST", f"{row}/{name}", function, authorizer, entity, name)
            )
    return routes


def api_routes(registry: Registry) -> list[HttpRoute]:
    """Every route of the api function, the public ones and the catch-all included."""
    function = api_function_name(registry.app)
    routes = [route for entity in registry.values() for route in entity_routes(entity, function)]
    routes += [
        _api_route(RouteKind.COMMAND_STATUS, "GET", f"{base}/{{command_id}}", function, kind)
        for kind, base in STATUS_PATHS.items()
    ]
    routes += [_api_route(RouteKind.PUBLIC_DOC, "GET", path, function, None) for path in PUBLIC_API_PATHS]
    routes.append(_api_route(RouteKind.DEFAULT, ANY, DEFAULT_ROUTE, function, USERS))
    return routes


# The admin console (`queuefirst.admin`): every page address serves a public shell that
# holds no data; the views and the changes live under ADMIN_VIEWS, behind the operators'
# authorizer, and are read by the shell's script with the operator's bearer token.
ADMIN_BASE = "/admin"
ADMIN_VIEWS = "/admin/x"


def admin_routes(registry: Registry) -> list[HttpRoute]:
    """The console's routes: public shell, login page and assets; operators' views."""
    function = admin_function_name(registry.app)
    page, view = RouteKind.CONSOLE_PAGE, RouteKind.CONSOLE_VIEW
    return [
        HttpRoute("GET", ADMIN_BASE, function, None, page, CONSOLE_PAGE_ANSWERS),
        HttpRoute("GET", f"{ADMIN_BASE}/{{proxy+}}", function, None, page, CONSOLE_PAGE_ANSWERS),
        HttpRoute(ANY, f"{ADMIN_VIEWS}/{{proxy+}}", function, OPERATORS, view, CONSOLE_VIEW_ANSWERS),
    ]
