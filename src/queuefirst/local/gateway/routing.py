"""Which route a request takes, as API Gateway's HTTP API selects it, and what that route needs.

API Gateway picks the most specific route: literal path segments beat
`{parameters}`, which beat a greedy `{proxy+}`; a route's own method beats
`ANY`; nothing matched goes to `$default`. Paths are matched as sent
(percent-encoded), a parameter spanning one segment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from queuefirst.local.gateway.authorizer import JwtAuthorizer
from queuefirst.local.runtimes.instance import Invocation
from queuefirst.model.http_routes import ANY, DEFAULT_ROUTE, HttpRoute

# A function: one event in, its invocation out; `wait` bounds the wait for a free runtime.
Invoke = Callable[[dict[str, Any], float], Invocation]
_PARAMETER = re.compile(r"^\{([A-Za-z0-9_]+)(\+?)\}$")


@dataclass(frozen=True)
class Match:
    route: HttpRoute
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Compiled:
    route: HttpRoute
    pattern: re.Pattern[str]
    rank: tuple[int, ...]


def _compile(route: HttpRoute) -> _Compiled:
    parts, literals, greedy = [], 0, 0
    for segment in route.path.strip("/").split("/"):
        parameter = _PARAMETER.match(segment)
        if parameter is None:
            parts.append(re.escape(segment))
            literals += 1
        elif parameter[2]:
            parts.append(f"(?P<{parameter[1]}>.+)")
            greedy = 1
        else:
            parts.append(f"(?P<{parameter[1]}>[^/]+)")
    pattern = re.compile("/" + "/".join(parts))
    # Most specific first: no greedy part, more literal segments, a method of its own.
    return _Compiled(route, pattern, (greedy, -literals, int(route.method == ANY)))


@dataclass(frozen=True)
class RouteTable:
    routes: list[HttpRoute]
    _compiled: list[_Compiled] = field(init=False, repr=False)
    _default: HttpRoute | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        compiled = [_compile(r) for r in self.routes if r.path != DEFAULT_ROUTE]
        object.__setattr__(self, "_compiled", sorted(compiled, key=lambda c: c.rank))
        defaults = [r for r in self.routes if r.path == DEFAULT_ROUTE]
        object.__setattr__(self, "_default", defaults[0] if defaults else None)

    def match(self, method: str, raw_path: str) -> Match | None:
        for compiled in self._compiled:
            if compiled.route.method not in (method, ANY):
                continue
            found = compiled.pattern.fullmatch(raw_path)
            if found:
                return Match(compiled.route, {k: unquote(v) for k, v in found.groupdict().items()})
        return None if self._default is None else Match(self._default, {})


@dataclass(frozen=True)
class Routing:
    """What the gateway needs per request: the route, its function, and its authorizer."""

    table: RouteTable
    functions: Mapping[str, Invoke]
    authorizers: Mapping[str, JwtAuthorizer]

    def authorizer(self, route: HttpRoute) -> JwtAuthorizer | None:
        return None if route.authorizer is None else self.authorizers[route.authorizer]
