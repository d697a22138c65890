"""The OpenAPI document: Powertools' paths and request bodies, with every answer spelled out.

Powertools derives the operations, parameters and request bodies from the
route signatures; what it cannot know is added here from the registry and
the one error table: each operation's success body (a row, a page, the 202
receipt, a command's status), every error status it can answer in the one
error body, the gateway's own answers in API Gateway's shape, links from
each 202 to its command's status (schemathesis' stateful phase follows them),
the api's refusal of NUL in text, which PostgreSQL cannot store, and each
operation's security: the bearer token of the population its route admits
(`queuefirst.model.http_routes`), refused with the gateway's 401.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel

from queuefirst.api.errors import ERRORS, Conflict, NotFound
from queuefirst.model.command import APPLIED, PENDING, REJECTED
from queuefirst.model.http_routes import STATUS_PATHS, api_routes
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
        "status": {"type": "string", "enum": [PENDING, APPLIED, REJECTED]},
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
UNAUTHORIZED_STATUS = 401
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
# What any route may answer: a body is checked wherever one is sent (see api/body.py).
COMMON_ERRORS = frozenset({400, 413, 415, 422, 500, 503})
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
    authorizers = {(r.method.lower(), r.path): r.authorizer for r in api_routes(registry)}
    status_operations = {
        kind: document["paths"][f"{base}/{{command_id}}"]["get"]["operationId"]
        for kind, base in STATUS_PATHS.items()
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            authorizer = authorizers[method, path]
            success, body, errors = _answers(path, method, registry)
            # A 202 links to the status route of the population that sent it.
            status_operation = status_operations[authorizer or USERS]
            operation["responses"] = _responses(success, body, errors, status_operation)
            if authorizer is not None:
                operation["security"] = [{authorizer: []}]
                operation["responses"][str(UNAUTHORIZED_STATUS)] = {
                    "description": UNAUTHORIZED,
                    "content": _json(_ref("GatewayError")),
                }
        for operation in item.values():
            _optional_body(operation.get("requestBody"))
            _forbid_nul(schemas, operation.get("requestBody"))
    return document


def _answers(path: str, method: str, registry: Registry) -> tuple[int, str, set[int]]:
    """The success status, its body's schema, and the errors beyond those every route has."""
    parts = path.strip("/").split("/")
    if f"/{parts[0]}" in STATUS_PATHS.values():
        return 200, "CommandStatus", {NotFound.status}  # another's command
    entity = registry[parts[0]]
    row = row_model(entity).__name__
    if len(parts) == 1:
        # An end user's list or create naming a row out of their reach (a parent, a cursor).
        reach = {NotFound.status} if entity.access.owned else set()
        if method == "post":
            return 202, "Accepted", {Conflict.status} | reach
        return 200, f"{row}Page", reach
    if len(parts) == 3:  # a business action
        return 202, "Accepted", {NotFound.status, Conflict.status}
    return {
        "get": (200, row, {NotFound.status}),
        "patch": (202, "Accepted", {NotFound.status, Conflict.status}),
        "delete": (202, "Accepted", {NotFound.status}),
    }[method]


def _responses(success: int, body: str, errors: set[int], status_operation: str) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(success): {"description": "Accepted" if success == 202 else "OK", "content": _json(_ref(body))}
    }
    if success == 202:
        responses[str(success)]["links"] = {
            "CommandStatus": {
                "operationId": status_operation,
                "parameters": {"command_id": "$response.body#/command_id"},
            }
        }
    answered = errors | COMMON_ERRORS
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
