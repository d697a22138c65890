"""HTTP routes for every entity, generated from the registry.

Powertools' resolver validates bodies and query parameters against the same
pydantic models the workers use, and serves the OpenAPI document. Route
functions are built per entity with explicit signatures, because the
resolver reads its validation rules from them. Each route reads its
principal as the population its authorizer admits (`queuefirst.api.auth`),
the same table the gateway and the infrastructure route by.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from psycopg import OperationalError
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
from queuefirst.api.service import ApiService
from queuefirst.model.actions import Action
from queuefirst.model.entity import Entity
from queuefirst.model.http_routes import STATUS_PATHS, actors, readers, writers
from queuefirst.model.payloads import action_body_model, create_body_model, patch_body_model
from queuefirst.model.principal import LABEL_PREFIX, NotAuthenticated
from queuefirst.model.validation import ID_PATTERN
from queuefirst.runtime.sender import SendError

ACCEPTED = HTTPStatus.ACCEPTED


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


def add_entity_routes(
    app: APIGatewayHttpResolver,
    service: ApiService,
    entity: Entity,
    page_limit_max: int,
    authenticate: Authenticate,
) -> None:
    base = f"/{entity.name}"
    create_model = create_body_model(entity)
    patch_model = patch_body_model(entity)
    tags = [entity.name]
    reader, writer = readers(entity), writers(entity)

    def create(body: BaseModel) -> Response[str]:
        payload = body.model_dump(mode="json", exclude_unset=True)
        accepted = service.create(entity, payload, principal=authenticate(writer))
        return json_response(ACCEPTED, accepted.body())

    def update(key: str, body: BaseModel) -> Response[str]:
        payload = body.model_dump(mode="json", exclude_unset=True)
        accepted = service.update(entity, key, payload, principal=authenticate(writer))
        return json_response(ACCEPTED, accepted.body())

    def delete(key: str) -> Response[str]:
        return json_response(ACCEPTED, service.delete(entity, key, principal=authenticate(writer)).body())

    def get(key: str) -> dict[str, Any]:
        return service.get(entity, key, principal=authenticate(reader))

    def list_(limit: int, after: str | None = None, **filters: str | None) -> dict[str, Any]:
        parent_id = filters.get(entity.parent_field) if entity.parent_field else None
        principal = authenticate(reader)
        page = service.list(entity, limit=limit, after=after, parent_id=parent_id, principal=principal)
        return {"items": page.items, "next_after": page.next_after}

    key = _kw("key", KeyPath)
    list_params = [
        _kw("limit", Annotated[int, Query(ge=1, le=page_limit_max)], 50),
        _kw("after", Annotated[str | None, Query(pattern=ID_PATTERN, max_length=128)], None),
    ]
    if entity.parent_field:
        filter_type = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=128)]
        list_params.append(_kw(entity.parent_field, filter_type, None))

    app.post(base, tags=tags, summary=f"Create a {entity.name} row (queued)")(
        _signature(create, [_kw("body", Annotated[create_model, Body(embed=False)])])
    )
    app.patch(f"{base}/<key>", tags=tags, summary=f"Update fields of a {entity.name} row (queued)")(
        _signature(update, [key, _kw("body", Annotated[patch_model, Body(embed=False)])])
    )
    app.delete(f"{base}/<key>", tags=tags, summary=f"Delete a {entity.name} row (queued, cascades)")(
        _signature(delete, [key])
    )
    app.get(f"{base}/<key>", tags=tags, summary=f"Read a {entity.name} row")(_signature(get, [key]))
    app.get(base, tags=tags, summary=f"List {entity.name} rows")(_signature(list_, list_params))
    for action in (a for a in entity.actions.values() if a.public):
        add_action_route(app, service, entity, action, authenticate)


def add_action_route(
    app: APIGatewayHttpResolver,
    service: ApiService,
    entity: Entity,
    action: Action,
    authenticate: Authenticate,
) -> None:
    """POST /<entity>/<id>/<action>: the action's input in the body, queued like every write."""
    kind = actors(entity, action)

    def act(key: str, body: BaseModel | None = None) -> Response[str]:
        payload = body.model_dump(mode="json", exclude_unset=True) if body is not None else {}
        accepted = service.act(entity, key, action.name, payload, principal=authenticate(kind))
        return json_response(ACCEPTED, accepted.body())

    model = action_body_model(action)
    body_type: Any = model if model.model_fields else model | None
    params = [
        _kw("key", KeyPath),
        _kw("body", Annotated[body_type, Body(embed=False)], inspect.Parameter.empty),
    ]
    if not action.input.model_fields:
        params[1] = _kw("body", Annotated[body_type, Body(embed=False)], None)
    act.__name__ = f"{entity.name}_{action.name}"
    app.post(f"/{entity.name}/<key>/{action.name}", tags=[entity.name], summary=action.summary)(
        _signature(act, params)
    )


def add_command_routes(app: APIGatewayHttpResolver, service: ApiService, authenticate: Authenticate) -> None:
    """Each population's status route: an end user reads the status of their own commands."""
    import uuid

    for kind, base in STATUS_PATHS.items():

        def status(command_id: uuid.UUID, kind: str = kind) -> dict[str, Any]:
            return service.command_status(command_id, principal=authenticate(kind))

        status.__name__ = f"{LABEL_PREFIX[kind]}_command_status"
        app.get(f"{base}/<command_id>", tags=["commands"], summary=f"Status of a queued command ({kind})")(
            _signature(status, [_kw("command_id", Annotated[uuid.UUID, Path()])])
        )


def _api_error(error: ApiError) -> Response[str]:
    return json_response(error.status, error.body())


def _send_error(_: SendError) -> Response[str]:
    return _api_error(Unavailable("the queue did not accept the command; retry"))


def _database_down(_: OperationalError) -> Response[str]:
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
    app.exception_handler(SendError)(_send_error)
    app.exception_handler(OperationalError)(_database_down)
    app.exception_handler(RequestValidationError)(_invalid)
    app.exception_handler(RequestUnsupportedContentType)(unsupported)
    app.exception_handler(Exception)(bug)
    app.not_found(not_found)
