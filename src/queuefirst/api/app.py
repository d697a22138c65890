"""The api function's resolver and its Lambda handler."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from re import Match
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from queuefirst.api.auth import authenticator
from queuefirst.api.body import check_body
from queuefirst.api.docs import swagger_page
from queuefirst.api.errors import ApiError
from queuefirst.api.routes import (
    add_command_routes,
    add_entity_routes,
    add_error_handlers,
    json_response,
)
from queuefirst.api.service import ApiService
from queuefirst.model.http_routes import STATUS_PATHS
from queuefirst.runtime.telemetry import count_per_version, timed
from queuefirst.store.revision import is_probe


class Resolver(APIGatewayHttpResolver):
    """Powertools' resolver, with path parameters percent-decoded.

    With the `$default` route API Gateway hands over the path as sent
    (`/customers/a%3Ab`); the route's parameters are decoded here, after
    matching, so an encoded `/` stays inside its segment.
    """

    def _convert_matches_into_route_keys(self, match: Match[str]) -> dict[str, str]:
        return {name: unquote(value) for name, value in match.groupdict().items()}


def build_resolver(
    service: ApiService,
    *,
    page_limit_max: int,
    title: str,
    logger: Logger | None = None,
    issuers: Mapping[str, str] | None = None,
) -> APIGatewayHttpResolver:
    """`issuers`: the issuer each authorizer trusts, where known (then a token's `iss` must match)."""
    app = Resolver(enable_validation=True)
    logger = logger or Logger(service="api")
    authenticate = authenticator(app, issuers or {}, logger)
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for entity in service.registry.values():
        add_entity_routes(app, service, entity, page_limit_max, authenticate)
        base = re.escape(f"/{entity.name}")
        patterns += [("GET", re.compile(base)), ("POST", re.compile(base))]
        patterns += [(m, re.compile(base + r"/[^/]+")) for m in ("GET", "PATCH", "DELETE")]
        patterns += [
            ("POST", re.compile(base + r"/[^/]+/" + re.escape(a)))
            for a, action in entity.actions.items()
            if action.public
        ]
    add_command_routes(app, service, authenticate)
    patterns += [("GET", re.compile(re.escape(base) + r"/[^/]+")) for base in STATUS_PATHS.values()]
    add_error_handlers(app, patterns, logger)
    built: list[dict[str, Any]] = []

    def document() -> dict[str, Any]:
        # Built when first asked for, not at init: a cold start pays nothing for it
        # (Powertools' OpenAPI models alone take tens of milliseconds to import).
        if not built:
            from queuefirst.api.contract import openapi_document

            built.append(openapi_document(app, service.registry, title=title))
        return built[0]

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> Any:
        return json_response(200, document())

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response[str]:
        return Response(200, content_types.TEXT_HTML, swagger_page(document()))

    return app


def make_handler(
    app: APIGatewayHttpResolver,
    logger: Logger,
    metrics: Metrics,
    max_body_bytes: int,
    *,
    probe: Callable[[], dict[str, Any]] | None = None,
    version: str = "$LATEST",
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    service = logger.service

    @metrics.log_metrics
    @logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if probe is not None and is_probe(event):
            # A deploy asks a new version, before any traffic, what it needs and finds.
            return probe()
        with timed(metrics, "RequestLatency"):
            response = _respond(app, event, context, max_body_bytes)
        status = int(response.get("statusCode", 200))
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        if status >= 400:
            name = "ClientErrors" if status < 500 else "ServerErrors"
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
            if status >= 500:
                # What a canary judges a version by, beside Lambda's errors per ExecutedVersion.
                count_per_version(name, 1, function=service, version=version)
        logger.info(
            "request",
            extra={
                "method": event.get("requestContext", {}).get("http", {}).get("method"),
                "path": event.get("rawPath"),
                "status": response.get("statusCode"),
            },
        )
        return response

    return handler


def _respond(
    app: APIGatewayHttpResolver, event: dict[str, Any], context: LambdaContext, max_body_bytes: int
) -> dict[str, Any]:
    try:
        event = check_body(event, max_body_bytes)
    except ApiError as error:
        # Refused before routing: the resolver never parses such a body.
        return {
            "statusCode": error.status,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(error.body()),
            "isBase64Encoded": False,
        }
    response: dict[str, Any] = app.resolve(event, context)
    return response
