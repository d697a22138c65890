"""The admin function's routing: public shell and assets, authenticated views under `/admin/x/`.

Every `/admin/x/` request must carry the claims of an operator's token
(verified by the authorizer in front) and every POST the form's CSRF token;
a request without them is answered 401 or 403 and does nothing. Domain
errors become statuses here, in one place, as a fragment saying what to fix.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from queuefirst.admin.csrf import FIELD, bearer_token, csrf_ok, csrf_token
from queuefirst.admin.http import Request, Response, parse_request
from queuefirst.admin.identity import Operator, operator_of
from queuefirst.admin.ops_pages import OperationsPages
from queuefirst.admin.pages import DataPages
from queuefirst.admin.render import BASE, STATIC, forms_signed_with, render
from queuefirst.api.errors import ApiError, InternalError, Unavailable
from queuefirst.model.errors import QueueUnavailable, StoreUnavailable
from queuefirst.model.principal import MisissuedClaim

PROTECTED = BASE + "/x"
# Words of the console's own paths: an entity may not be named like one.
RESERVED = frozenset(
    {"x", "home", "static", "login", "operations", "commands", "whoami", "new", "dead-letters"}
)
_SEGMENT = r"(?P<{}>[^/]+)"

View = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    view: View


def _route(method: str, path: str, view: View) -> Route:
    names = re.findall(r"<(\w+)>", path)
    regex = path
    for name in names:
        regex = regex.replace(f"<{name}>", _SEGMENT.format(name))
    return Route(method, re.compile(regex), view)


def routes(data: DataPages, ops: OperationsPages) -> list[Route]:
    """Paths below `/admin/x`, most specific first."""
    return [
        _route("GET", "/home", data.home),
        _route("GET", "/whoami", _whoami),
        _route("GET", "/operations", ops.page),
        _route("POST", "/operations/<function>/scaling", ops.scale),
        _route("POST", "/dead-letters/<entity>/redrive", ops.redrive),
        _route("GET", "/dead-letters/<entity>/discard", ops.confirm_discard),
        _route("POST", "/dead-letters/<entity>/discard", ops.discard),
        _route("GET", "/commands/<command_id>", data.command),
        _route("GET", "/commands/<command_id>/status", data.command_status),
        _route("GET", "/new/<entity>", data.new),
        _route("GET", "/<entity>", data.list),
        _route("POST", "/<entity>", data.create),
        _route("GET", "/<entity>/<key>", data.detail),
        _route("GET", "/<entity>/<key>/edit", data.edit),
        _route("POST", "/<entity>/<key>/edit", data.update),
        _route("GET", "/<entity>/<key>/delete", data.confirm_delete),
        _route("POST", "/<entity>/<key>/delete", data.delete),
        _route("POST", "/<entity>/<key>/actions/<action>", data.act),
    ]


def _whoami(request: Request, operator: Operator) -> Response:
    return Response(200, render("whoami.html", operator=operator))


class Console:
    def __init__(
        self, data: DataPages, ops: OperationsPages, logger: Any = None, *, issuer: str | None = None
    ) -> None:
        clash = RESERVED & set(data.registry)
        if clash:
            raise ValueError(f"entities may not be named {sorted(clash)}: the admin console's paths use them")
        self.routes = routes(data, ops)
        self.app = data.registry.app
        self.entities = list(data.registry)
        self.logger = logger
        self.issuer = issuer

    def handle(self, event: dict[str, Any], max_body_bytes: int) -> Response:
        try:
            return self.respond(parse_request(event, max_body_bytes), event)
        except ApiError as error:  # a body the console cannot read
            return error_page(error)

    def respond(self, request: Request, event: dict[str, Any]) -> Response:
        path = request.path
        if path == PROTECTED or path.startswith(PROTECTED + "/"):
            return self._protected(request, event, path[len(PROTECTED) :])
        if request.method not in ("GET", "HEAD"):
            return _status_page(
                405, "Only the console's own forms change anything.", headers={"Allow": "GET"}
            )
        if path.startswith(BASE + "/static/"):
            return _static(path[len(BASE + "/static/") :])
        if path == BASE + "/login":
            return Response(200, render("login.html", app=self.app))
        # Every other page: the shell, which holds no data; its script loads the view.
        return Response(200, render("shell.html", app=self.app, registry=self.entities))

    def _protected(self, request: Request, event: dict[str, Any], rest: str) -> Response:
        try:
            operator = operator_of(event, self.issuer)
        except MisissuedClaim as error:
            # Commands record their operator: a name no row can hold is the issuer's to fix.
            if self.logger is not None:
                self.logger.error(error.message, extra={"claim": error.claim, "path": request.path})
            return error_page(InternalError(f"internal error: {error.message}; it has been logged"))
        bearer = bearer_token(request.header("authorization"))
        if operator is None or bearer is None:
            return _status_page(401, "Sign in first.", headers={"WWW-Authenticate": "Bearer"})
        allowed: set[str] = set()
        for route in self.routes:
            match = route.pattern.fullmatch(rest)
            if match is None:
                continue
            allowed.add(route.method)
            if route.method != request.method:
                continue
            if request.method == "POST" and not csrf_ok(bearer, request.form.get(FIELD)):
                return _status_page(
                    403, "This form is missing its CSRF token, or it does not match: reload it."
                )
            return self._call(route.view, request, operator, match.groupdict(), bearer)
        if allowed:
            return _status_page(
                405, f"{request.method} is not allowed here.", headers={"Allow": ", ".join(sorted(allowed))}
            )
        return _status_page(404, f"There is no page at {request.path}.")

    def _call(
        self, view: View, request: Request, operator: Operator, params: dict[str, str], bearer: str
    ) -> Response:
        try:
            with forms_signed_with(csrf_token(bearer)):  # every form the view draws
                response = view(request, operator, **params)
        except ApiError as error:
            response = error_page(error)
        except QueueUnavailable:
            response = error_page(Unavailable("the queue did not accept the command; retry"))
        except StoreUnavailable:
            response = error_page(Unavailable("the database is unavailable; retry"))
        except Exception as error:
            # Nothing an operator sends should land here: a fault of ours, logged whole.
            if self.logger is not None:
                self.logger.exception("unhandled error", extra={"path": request.path})
            response = error_page(
                InternalError(f"internal error ({type(error).__name__}); it has been logged")
            )
        return response


def error_page(error: ApiError) -> Response:
    return Response(
        error.status, render("error.html", status=error.status, message=error.message, field=error.field)
    )


def _status_page(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status, render("error.html", status=status, message=message, field=None), headers=headers or {}
    )


def _static(name: str) -> Response:
    path = (STATIC / name).resolve()
    if "/" in name or not path.is_file() or path.parent != STATIC:
        return _status_page(404, f"No asset {name!r}.")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "application/javascript":
        content_type += "; charset=utf-8"
    return Response(200, path.read_bytes(), content_type, headers={"Cache-Control": "no-cache"})
