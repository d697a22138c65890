"""The api function's resolver and its Lambda handler."""

from __future__ import annotations

import json
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
from queuefirst.api.routes import add_api_routes, add_error_handlers, json_response
from queuefirst.api.service import ApiService
from queuefirst.model.http_routes import DOCS_PATH, OPENAPI_PATH, RouteKind, api_routes, path_pattern
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
    routes = api_routes(service.registry)
    add_api_routes(app, service, routes, page_limit_max, authenticate)
    # A path the table routes, with a method it does not: 405 and the methods it has (Allow).
    patterns = [(r.method, path_pattern(r.path)) for r in routes if r.kind is not RouteKind.DEFAULT]
    add_error_handlers(app, patterns, logger)
    built: list[dict[str, Any]] = []

    def document() -> dict[str, Any]:
        # Built when first asked for, not at init: a cold start pays nothing for it
        # (Powertools' OpenAPI models alone take tens of milliseconds to import).
        if not built:
            from queuefirst.api.contract import openapi_document

            built.append(openapi_document(app, service.registry, title=title))
        return built[0]

    def openapi() -> Any:
        return json_response(200, document())

    def docs() -> Response[str]:
        return Response(200, content_types.TEXT_HTML, swagger_page(document()))

    # The contract and its page, at the addresses the table gives them (a KeyError names a new one).
    pages: dict[str, Callable[[], Any]] = {OPENAPI_PATH: openapi, DOCS_PATH: docs}
    for route in routes:
        if route.kind is RouteKind.PUBLIC_DOC:
            app.route(route.path, route.method, include_in_schema=False)(pages[route.path])
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
