"""Who is calling, read from the claims the gateway verified; no valid principal, API Gateway's 401.

The api never verifies a token: deployed, API Gateway's JWT authorizer did,
locally the gateway did, and both put the claims in the event. Each route
knows which authorizer guards it (`queuefirst.model.http_routes`), so it
reads its principal as that population's; where the function knows the
issuers (`QUEUEFIRST_USERS_ISSUER`, `QUEUEFIRST_OPERATORS_ISSUER`, which dev
and the infra set) the claims must come from that route's issuer too. A
request without them (a gateway misrouted, an invocation from elsewhere) gets
the answer the gateway gives a request without a valid token. Verified claims
no row could record are the issuer's fault: a 500, logged with the claim's
name (never its value), so an operator sees which issuer to fix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from queuefirst.api.errors import InternalError
from queuefirst.model.principal import (
    MisissuedClaim,
    NotAuthenticated,
    Principal,
    claims_of,
    principal_from_claims,
)

Authenticate = Callable[[str], Principal]
UNAUTHORIZED = {"message": "Unauthorized"}


def authenticator(app: APIGatewayHttpResolver, issuers: Mapping[str, str], logger: Logger) -> Authenticate:
    """`authenticate(kind)`: the principal of the current request, admitted by `kind`'s authorizer."""

    def authenticate(kind: str) -> Principal:
        claims = claims_of(app.current_event.raw_event)
        if claims is None:
            raise NotAuthenticated("no verified claims in the event")
        try:
            return principal_from_claims(kind, claims, issuers.get(kind))
        except MisissuedClaim as error:
            logger.error(error.message, extra={"claim": error.claim, "authorizer": kind})
            raise InternalError(f"internal error: {error.message}; it has been logged") from error

    return authenticate


def unauthorized(_: NotAuthenticated) -> Response[str]:
    return Response(
        status_code=401,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(UNAUTHORIZED, separators=(",", ":")),
    )
