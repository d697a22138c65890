"""Who is operating: the claims of the token the operators' authorizer verified.

The function never checks a token's signature itself: API Gateway's JWT
authorizer (or the local gateway, as it does) in front of the `/admin/x/`
routes did, and put the claims in `requestContext.authorizer.jwt.claims`. No
claims means the request passed no authorizer; a token from another issuer
than the operators' (where the function is told it) is refused too, so an end
user's token never opens the console even on a misrouted request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from queuefirst.model.principal import (
    OPERATORS,
    NotAuthenticated,
    Principal,
    claims_of,
    principal_from_claims,
)


@dataclass(frozen=True)
class Operator:
    name: str
    subject: str

    @property
    def principal(self) -> Principal:
        """As the api's service knows callers: an operator reaches every row."""
        return Principal(OPERATORS, self.subject, self.name)


def operator_of(event: dict[str, Any], issuer: str | None = None) -> Operator | None:
    claims = claims_of(event)
    if claims is None:
        return None
    try:
        principal = principal_from_claims(OPERATORS, claims, issuer)
    except NotAuthenticated:
        return None
    return Operator(name=principal.name, subject=principal.subject)
