"""The OpenAPI document: Powertools' paths and request bodies, with every answer spelled out.

Powertools derives the operations, parameters and request bodies from the
route signatures; the rest comes from the route table
(`queuefirst.model.http_routes`), which gives each operation its kind, its
statuses and its authorizer: the success body its kind returns (a row, a
page, the 202 receipt, a command's status), every status it answers in the
one error body, the gateway's own answers in API Gateway's shape, links from
each 202 to its command's status (schemathesis' stateful phase follows them),
the api's refusal of NUL in text, which PostgreSQL cannot store, and each
operation's security: the bearer token of the population its route admits,
refused with the gateway's 401.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel

from queuefirst.api.errors import ERRORS
from queuefirst.model.command import Status
from queuefirst.model.http_routes import UNAUTHORIZED as UNAUTHORIZED_STATUS
from queuefirst.model.http_routes import HttpRoute, RouteKind, api_routes
from queuefirst.model.payloads import row_model
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst.model.registry import Registry

REF = "#/components/schemas/{model}"
# Text without NUL: the api refuses it (422), as PostgreSQL cannot store it.
NO_NUL = "^[^\\u0000]*$"

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error the api answers: `field` names the culprit where there is one.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "enum": sorted({e.code for e in ERRORS})},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
            "required": ["code", "message"],
            "additionalProperties": False,
        }
    },
    "required": ["error"],
    "additionalProperties": False,
}
GATEWAY_ERROR_SCHEMA = {
    "type": "object",
    "description": "An answer of API Gateway itself (locally: the gateway), before or after the api.",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
    "additionalProperties": False,
}
ACCEPTED_SCHEMA = {
    "type": "object",
    "description": "The command is on the entity's queue; its status_url says when it was applied.",
    "properties": {
        "id": {"type": "string"},
        "command_id": {"type": "string", "format": "uuid"},
        "status_url": {"type": "string"},
    },
    "required": ["id", "command_id", "status_url"],
    "additionalProperties": False,
}
COMMAND_STATUS_SCHEMA = {
    "type": "object",
    "description": "`pending` until the entity's worker took the command, then applied or rejected.",
    "properties": {
        "command_id": {"type": "string", "format": "uuid"},
        "status": {"type": "string", "enum": [Status.PENDING, Status.APPLIED, Status.REJECTED]},
        "reason": {"type": "string"},
        "entity": {"type": "string"},
        "key": {"type": "string"},
        "scope": {"type": "string"},
        "op": {"type": "string"},
        "version": {"type": "integer"},
        "producer": {"type": "object"},
    },
    "required": ["command_id", "status"],
}
# The statuses the gateway answers itself (API Gateway's, on AWS) on any route.
GATEWAY_STATUSES = {
    400: "Malformed HTTP.",
    408: "The body did not arrive in time.",
    413: "The body is larger than API Gateway's 10 MB limit.",
    502: "The api function failed.",
    503: "No api runtime answered within the integration timeout.",
}
# A secured route's answer without a valid token (API Gateway's JWT authorizer, or the gateway).
UNAUTHORIZED = "No valid token for this route's authorizer (see the security scheme)."
SECURITY_SCHEMES = {
    USERS: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An end user's access token from the application's user pool (locally: "
        "`queuefirst token user <id>`). Its `sub` is the end user's id: what they own.",
    },
    OPERATORS: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An operator's access token from the operators' user pool (locally: "
        "`queuefirst token operator <name>`). An end user's token never passes.",
    },
}
DESCRIPTIONS = {
    400: "The body is not JSON, not UTF-8, or nested too deep.",
    404: "No such row.",
    409: "The row exists, a parent or referenced row does not, or the entity's rules refuse it now.",
    413: "The body is larger than the api accepts.",
    415: "A body that is not application/json.",
    422: "A field, parameter or body that does not fit; `field` names it (`token.sub`: the "
    "token's subject, which cannot be an id).",
    500: "A fault of ours, or a token whose issuer is misconfigured (the claim named); logged.",
    503: "The database or the queue is unavailable; retry.",
}


def openapi_document(app: APIGatewayHttpResolver, registry: Registry, *, title: str) -> dict[str, Any]:
    document: dict[str, Any] = app.get_openapi_schema(title=title).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    schemas |= {
        "Error": ERROR_SCHEMA,
        "GatewayError": GATEWAY_ERROR_SCHEMA,
        "Accepted": ACCEPTED_SCHEMA,
        "CommandStatus": COMMAND_STATUS_SCHEMA,
    }
    for name in registry:
        row = _add_model(schemas, row_model(registry[name]))
        schemas[f"{row}Page"] = {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": _ref(row)},
                "next_after": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
            "required": ["items", "next_after"],
            "additionalProperties": False,
        }
    document["components"]["securitySchemes"] = SECURITY_SCHEMES
    routes = {(r.method.lower(), r.path): r for r in api_routes(registry)}
    # A 202 links to the status route of the population that sent it.
    status_operations = {
        r.authorizer: document["paths"][r.path][r.method.lower()]["operationId"]
        for r in routes.values()
        if r.kind is RouteKind.COMMAND_STATUS
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            route = routes[method, path]
            operation["responses"] = _responses(route, _success_body(route, registry), status_operations)
            if route.authorizer is not None:
                operation["security"] = [{route.authorizer: []}]
        for operation in item.values():
            _optional_body(operation.get("requestBody"))
            _forbid_nul(schemas, operation.get("requestBody"))
    return document


def _success_body(route: HttpRoute, registry: Registry) -> str:
    """The schema of what the route's kind answers on success."""
    if route.kind is RouteKind.COMMAND_STATUS:
        return "CommandStatus"
    assert route.entity is not None, f"{route.key}: a {route.kind} route in the document names no entity"
    row = row_model(registry[route.entity]).__name__
    return {RouteKind.LIST: f"{row}Page", RouteKind.READ: row}.get(route.kind, "Accepted")


def _responses(route: HttpRoute, body: str, status_operations: dict[str | None, str]) -> dict[str, Any]:
    success = route.success
    assert success is not None, f"{route.key} answers no success"
    responses: dict[str, Any] = {
        str(success): {"description": "Accepted" if success == 202 else "OK", "content": _json(_ref(body))}
    }
    if success == 202:
        responses[str(success)]["links"] = {
            "CommandStatus": {
                "operationId": status_operations[route.authorizer or USERS],
                "parameters": {"command_id": "$response.body#/command_id"},
            }
        }
    answered = route.statuses - {success, UNAUTHORIZED_STATUS}
    for status in sorted(answered | set(GATEWAY_STATUSES)):
        schemas = [
            _ref(name)
            for name, has in (("Error", status in answered), ("GatewayError", status in GATEWAY_STATUSES))
            if has
        ]
        texts = [DESCRIPTIONS[status] if status in answered else "", GATEWAY_STATUSES.get(status, "")]
        responses[str(status)] = {
            "description": " Or, from the gateway: ".join(t for t in texts if t),
            "content": _json(schemas[0] if len(schemas) == 1 else {"anyOf": schemas}),
        }
    if UNAUTHORIZED_STATUS in route.statuses:
        # In API Gateway's shape, whoever answers it: the authorizer, or the api (api/auth.py).
        responses[str(UNAUTHORIZED_STATUS)] = {
            "description": UNAUTHORIZED,
            "content": _json(_ref("GatewayError")),
        }
    return responses


def _add_model(schemas: dict[str, Any], model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="serialization", ref_template=REF)
    schemas |= schema.pop("$defs", {})
    schemas[model.__name__] = schema
    return model.__name__


def _optional_body(request_body: dict[str, Any] | None) -> None:
    """An optional body (an action without input) may be left out; sent, it is an object, never null."""
    if not request_body:
        return
    for media in request_body.get("content", {}).values():
        variants = media.get("schema", {}).get("anyOf", [])
        if {"type": "null"} in variants:
            (media["schema"],) = [v for v in variants if v != {"type": "null"}]
            request_body["required"] = False


def _forbid_nul(schemas: dict[str, Any], request_body: dict[str, Any] | None) -> None:
    """Every free-text string of a request body refuses NUL, in the schema as in the api: nested
    ones too (a list's items, an object's keys and values), as the one validation refuses them."""
    if not request_body:
        return
    for media in request_body.get("content", {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        target = schemas.get(ref.rsplit("/", 1)[-1], {})
        for prop in target.get("properties", {}).values():
            _forbid_nul_within(prop)


def _forbid_nul_within(schema: dict[str, Any]) -> None:
    for variant in schema.get("anyOf", [schema]):
        if variant.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(variant):
            variant["pattern"] = NO_NUL
        if variant.get("type") == "object" and "additionalProperties" in variant:
            variant.setdefault("propertyNames", {"pattern": NO_NUL})
        for nested in ("items", "additionalProperties"):
            if isinstance(variant.get(nested), dict):
                _forbid_nul_within(variant[nested])


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}
