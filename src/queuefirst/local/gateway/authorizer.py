"""A JWT authorizer that checks what API Gateway's HTTP API JWT authorizer checks.

Per AWS's documented workflow: the token comes from the `Authorization`
header, bare or after `Bearer `; it must be signed with an RSA algorithm by a
key of the issuer's JWKS named by its `kid`; `iss` must be the configured
issuer; `aud`, or `client_id` where there is no `aud`, one of the configured
audiences; `exp` after now, `nbf` and `iat` not after now; and, on a route
that names scopes, `scope` (or `scp`) must carry one of them. PyJWT does the
signature and time checks. Anything else is refused: 401 with API Gateway's
body, `{"message":"Unauthorized"}`, and its `www-authenticate` header; a
valid token without a route's scope, 403.

What the function receives is AWS's shape too: the claims under
`requestContext.authorizer.jwt.claims`, every value a string (numbers and
booleans as text, arrays as `[a b]`, objects as JSON, nulls left out), and
`scopes` null unless the route names scopes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

# API Gateway accepts RSA signatures only.
ALGORITHMS = ("RS256", "RS384", "RS512")


class Denied(Exception):
    """The authorizer refuses the request: `status` 401 (no valid token) or 403 (no scope)."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description

    @property
    def message(self) -> str:
        return "Unauthorized" if self.status == 401 else "Forbidden"

    @property
    def www_authenticate(self) -> str:
        error = "invalid_token" if self.status == 401 else "insufficient_scope"
        return f'Bearer scope="" error="{error}" error_description="{self.description}"'


@dataclass(frozen=True)
class JwtAuthorizer:
    name: str
    issuer: str
    audience: tuple[str, ...]
    jwks: Mapping[str, Any]
    _keys: jwt.PyJWKSet = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", jwt.PyJWKSet.from_dict(dict(self.jwks)))

    def authorize(self, authorization: str | None, scopes: tuple[str, ...] = ()) -> dict[str, Any]:
        """The event's `requestContext.authorizer` for a valid token; `Denied` otherwise."""
        claims = self.verify(authorization)
        granted = token_scopes(claims)
        if scopes and not set(scopes) & set(granted):
            raise Denied(403, "the token does not have the required scope")
        return {"jwt": {"claims": event_claims(claims), "scopes": granted if scopes else None}}

    def verify(self, authorization: str | None) -> dict[str, Any]:
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Denied(401, "the token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise Denied(401, f"the token's algorithm {algorithm!r} is not supported")
        try:
            key = self._keys[str(header.get("kid"))]
        except KeyError:
            raise Denied(401, "the token's kid names no key of the issuer") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                issuer=self.issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            raise Denied(401, "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Denied(401, "the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise Denied(401, "the token does not have a valid issuer") from None
        except jwt.InvalidSignatureError:
            raise Denied(401, "the token's signature is not valid") from None
        except jwt.PyJWTError as error:
            raise Denied(401, f"the token is not valid: {error}") from None
        if not self._audience_matches(claims):
            raise Denied(401, "the token does not have a valid audience")
        return claims

    def _audience_matches(self, claims: Mapping[str, Any]) -> bool:
        # API Gateway reads client_id only when there is no aud.
        value = claims["aud"] if "aud" in claims else claims.get("client_id")
        values = value if isinstance(value, list) else [value]
        return any(isinstance(v, str) and v in self.audience for v in values)


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise Denied(401, "no token in the Authorization header")
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return authorization.strip()  # the bare token
    if not rest.strip():
        raise Denied(401, "no token in the Authorization header")
    return rest.strip()


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def event_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as an HTTP API event carries them: strings only, nulls left out."""
    return {name: claim_text(value) for name, value in claims.items() if value is not None}


def claim_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(claim_text(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
