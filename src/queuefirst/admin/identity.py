"""Who is operating: the claims API Gateway's JWT authorizer (or the local gateway) verified.

The function never checks a token itself: the authorizer in front of the
`/admin/x/` routes did (issuer, audience, expiry, signature) and put the
claims in `requestContext.authorizer.jwt.claims`. No claims means the
request did not pass an authorizer, so it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The claims that name a person, in the order they are preferred (Cognito's first).
NAME_CLAIMS = ("cognito:username", "preferred_username", "username", "name", "email", "sub")
NAME_MAX = 256  # what a command's producer principal holds


@dataclass(frozen=True)
class Operator:
    name: str
    subject: str


def claims_of(event: dict[str, Any]) -> dict[str, Any] | None:
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") if isinstance(context, dict) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, dict) else None
    claims = jwt.get("claims") if isinstance(jwt, dict) else None
    return claims if isinstance(claims, dict) else None


def operator_of(event: dict[str, Any]) -> Operator | None:
    claims = claims_of(event)
    if not claims or not isinstance(claims.get("sub"), str) or not claims["sub"]:
        return None
    name = next((str(claims[c]) for c in NAME_CLAIMS if isinstance(claims.get(c), str) and claims[c]), "")
    return Operator(name=name[:NAME_MAX], subject=str(claims["sub"]))
