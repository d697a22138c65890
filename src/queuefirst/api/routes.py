"""The api's handlers, one per route of the route table (`queuefirst.model.http_routes`).

Each route's kind says what its handler does (list, create, read, ...), its
entity and action what it does it to, its authorizer which population's
principal it reads (`queuefirst.api.auth`), its statuses what it answers: the
same table the gateway, the infrastructure and the OpenAPI document read.
Powertools' resolver validates bodies and query parameters against the same
pydantic models the workers use, and serves the OpenAPI document. Handlers
are built with explicit signatures, because the resolver reads its
validation rules from them.
"""

from __future__ import annotations

import inspect
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel

from queuefirst.api.auth import Authenticate, unauthorized
from queuefirst.api.errors import (
    ApiError,
    BadRequest,
    InternalError,
    Invalid,
    MethodNotAllowed,
    NotFound,
    Unavailable,
    UnsupportedMediaType,
)
from queuefirst.api.service import Accepted, ApiService
from queuefirst.model.entity import Entity
from queuefirst.model.errors import QueueUnavailable, StoreUnavailable
from queuefirst.model.http_routes import HttpRoute, RouteKind
from queuefirst.model.payloads import action_body_model, create_body_model, patch_body_model
from queuefirst.model.principal import LABEL_PREFIX, USERS, NotAuthenticated, Principal
from queuefirst.model.validation import ID_PATTERN


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, default=str),
        headers=headers,
    )


def _signature(fn: Callable[..., Any], params: list[inspect.Parameter]) -> Callable[..., Any]:
    fn.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in params}
    return fn


def _kw(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


KeyPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=128)]
# Served by the resolver itself (api/app.py): the contract and its page, and the catch-all's 404/405.
RESOLVERS_OWN = frozenset({RouteKind.PUBLIC_DOC, RouteKind.DEFAULT})


@dataclass(frozen=True)
class _Serving:
    """What a route's handler is made of: the route, its entity, and the service behind it."""

    route: HttpRoute
    entity_or_none: Entity | None
    service: ApiService
    authenticate: Authenticate
    page_limit_max: int

    @property
    def entity(self) -> Entity:
        assert self.entity_or_none is not None, f"{self.route.key} names no entity"
        return self.entity_or_none

    def principal(self) -> Principal:
        """The caller, read as the population the route's authorizer admits."""
        assert self.route.authorizer is not None, f"{self.route.key} has no authorizer"
        return self.authenticate(self.route.authorizer)

    def accepted(self, accepted: Accepted) -> Response[str]:
        """A write's success, as the table gives it (202), with the command's receipt."""
        assert self.route.success is not None, f"{self.route.key} answers no success"
        return json_response(self.route.success, accepted.body())


Handler = tuple[Callable[..., Any], str]  # the function, with the signature Powertools reads, and its summary


def resolver_rule(path: str) -> str:
    """A route's path as Powertools writes it: `/orders/{key}` -> `/orders/<key>`."""
    return re.sub(r"\{(\w+)\}", r"<\1>", path)


def add_api_routes(
    app: APIGatewayHttpResolver,
    service: ApiService,
    routes: Iterable[HttpRoute],
    page_limit_max: int,
    authenticate: Authenticate,
) -> None:
    """One handler per route of the table (`queuefirst.model.http_routes`), made by its kind."""
    for route in routes:
        if route.kind in RESOLVERS_OWN:
            continue
        entity = service.registry[route.entity] if route.entity else None
        serving = _Serving(route, entity, service, authenticate, page_limit_max)
        handler, summary = _HANDLERS[route.kind](serving)
        tags = [route.entity] if route.entity else ["commands"]
        app.route(resolver_rule(route.path), route.method, tags=tags, summary=summary)(handler)


def _list(serving: _Serving) -> Handler:
    entity = serving.entity

    def list_(limit: int, after: str | None = None, **filters: str | None) -> dict[str, Any]:
        parent_id = filters.get(entity.parent_field) if entity.parent_field else None
        principal = serving.principal()
        page = serving.service.list(
            entity, limit=limit, after=after, parent_id=parent_id, principal=principal
        )
        return {"items": page.items, "next_after": page.next_after}

    params = [
        _kw("limit", Annotated[int, Query(ge=1, le=serving.page_limit_max)], 50),
        _kw("after", Annotated[str | None, Query(pattern=ID_PATTERN, max_length=128)], None),
    ]
    if entity.parent_field:
        filter_type = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=128)]
        params.append(_kw(entity.parent_field, filter_type, None))
    return _signature(list_, params), f"List {entity.name} rows"


def _create(serving: _Serving) -> Handler:
    entity = serving.entity

    def create(body: BaseModel) -> Response[str]:
        payload = body.model_dump(mode="json", exclude_unset=True)
        return serving.accepted(serving.service.create(entity, payload, principal=serving.principal()))

    body = _kw("body", Annotated[create_body_model(entity), Body(embed=False)])
    return _signature(create, [body]), f"Create a {entity.name} row (queued)"


def _read(serving: _Serving) -> Handler:
    def get(key: str) -> dict[str, Any]:
        return serving.service.get(serving.entity, key, principal=serving.principal())

    return _signature(get, [_kw("key", KeyPath)]), f"Read a {serving.entity.name} row"


def _update(serving: _Serving) -> Handler:
    entity = serving.entity

    def update(key: str, body: BaseModel) -> Response[str]:
        payload = body.model_dump(mode="json", exclude_unset=True)
        return serving.accepted(serving.service.update(entity, key, payload, principal=serving.principal()))

    params = [_kw("key", KeyPath), _kw("body", Annotated[patch_body_model(entity), Body(embed=False)])]
    return _signature(update, params), f"Update fields of a {entity.name} row (queued)"


def _delete(serving: _Serving) -> Handler:
    def delete(key: str) -> Response[str]:
        return serving.accepted(serving.service.delete(serving.entity, key, principal=serving.principal()))

    return _signature(delete, [_kw("key", KeyPath)]), f"Delete a {serving.entity.name} row (queued, cascades)"


def _action(serving: _Serving) -> Handler:
    """POST /<entity>/<id>/<action>: the action's input in the body, queued like every write."""
    entity = serving.entity
    assert serving.route.action is not None, f"{serving.route.key} names no action"
    action = entity.actions[serving.route.action]

    def act(key: str, body: BaseModel | None = None) -> Response[str]:
        payload = body.model_dump(mode="json", exclude_unset=True) if body is not None else {}
        principal = serving.principal()
        return serving.accepted(serving.service.act(entity, key, action.name, payload, principal=principal))

    model = action_body_model(action)
    body_type: Any = model if model.model_fields else model | None
    # An action without input may be sent without a body.
    default = None if not action.input.model_fields else inspect.Parameter.empty
    act.__name__ = f"{entity.name}_{action.name}"
    params = [_kw("key", KeyPath), _kw("body", Annotated[body_type, Body(embed=False)], default)]
    return _signature(act, params), action.summary


def _command_status(serving: _Serving) -> Handler:
    """A population's status route: an end user reads the status of their own commands."""
    kind = serving.route.authorizer or USERS

    def status(command_id: uuid.UUID) -> dict[str, Any]:
        return serving.service.command_status(command_id, principal=serving.principal())

    status.__name__ = f"{LABEL_PREFIX[kind]}_command_status"
    params = [_kw("command_id", Annotated[uuid.UUID, Path()])]
    return _signature(status, params), f"Status of a queued command ({kind})"


_HANDLERS: dict[RouteKind, Callable[[_Serving], Handler]] = {
    RouteKind.LIST: _list,
    RouteKind.CREATE: _create,
    RouteKind.READ: _read,
    RouteKind.UPDATE: _update,
    RouteKind.DELETE: _delete,
    RouteKind.ACTION: _action,
    RouteKind.COMMAND_STATUS: _command_status,
}


def _api_error(error: ApiError) -> Response[str]:
    return json_response(error.status, error.body())


def _queue_down(_: QueueUnavailable) -> Response[str]:
    return _api_error(Unavailable("the queue did not accept the command; retry"))


def _database_down(_: StoreUnavailable) -> Response[str]:
    return _api_error(Unavailable("the database is unavailable; retry"))


def _invalid(error: RequestValidationError) -> Response[str]:
    first = error.errors()[0]
    location = [str(p) for p in first.get("loc", ())]
    if first.get("type") == "json_invalid":
        return _api_error(BadRequest("body is not valid JSON", field="body"))
    # ("body", "email") -> "email"; ("query", "limit") -> "limit"
    field = ".".join(location[1:]) or (location[0] if location else "body")
    return _api_error(Invalid(str(first["msg"]), field="id" if field == "key" else field))


def add_error_handlers(
    app: APIGatewayHttpResolver, route_patterns: list[tuple[str, re.Pattern[str]]], logger: Logger
) -> None:
    """Every domain error becomes its status here, and nowhere else; all in the one error body."""

    def unsupported(_: RequestUnsupportedContentType) -> Response[str]:
        return _api_error(UnsupportedMediaType("send application/json", field="content-type"))

    def bug(error: Exception) -> Response[str]:
        # Nothing a client sends should land here: a 500 is a fault of ours, so log it whole.
        logger.exception("unhandled error", extra={"path": app.current_event.path})
        return _api_error(InternalError(f"internal error ({type(error).__name__}); it has been logged"))

    def not_found(_: Exception) -> Response[str]:
        path = app.current_event.path
        allowed = sorted({method for method, pattern in route_patterns if pattern.fullmatch(path)})
        if allowed:
            error = MethodNotAllowed(f"{app.current_event.http_method} not allowed on {path}")
            return json_response(error.status, error.body(), headers={"Allow": ", ".join(allowed)})
        return _api_error(NotFound(f"no route for {path}"))

    app.exception_handler(NotAuthenticated)(unauthorized)
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(QueueUnavailable)(_queue_down)
    app.exception_handler(StoreUnavailable)(_database_down)
    app.exception_handler(RequestValidationError)(_invalid)
    app.exception_handler(RequestUnsupportedContentType)(unsupported)
    app.exception_handler(Exception)(bug)
    app.not_found(not_found)
