"""Who is calling: the two populations, and one signed-in principal read from verified claims.

The claims come from a JWT that a gateway verified before the function ran:
API Gateway's JWT authorizer when deployed, the local gateway under
`queuefirst dev` (`queuefirst.local.authorizer`), which puts them where AWS
does: `event["requestContext"]["authorizer"]["jwt"]["claims"]`, every value a
string. No function verifies a token itself.

Claims read (Cognito's names; the local issuer mints the same):

- `sub`: the principal's subject. For an end user it is what they own (a
  customer's id is their `sub`).
- `username`, else `cognito:username`: an operator's name, for the history
  (`Producer.principal`); falls back to `sub`.
- `iss`: checked against the issuer of the route's authorizer where the
  function knows it (a misrouted token is refused, not misread).

The claims are checked here, where they are read, so that no command is
accepted that its worker cannot apply. A claim that no row could record (NUL:
commands record who sent them) is the issuer's fault, whatever the request:
`MisissuedClaim`, which a function answers with a 500 it logs, naming the
claim. A subject that is no id (`a b`, `../x`, `auth0|123`: issuers other
than Cognito mint such) is sound until a request would name a row by it (an
end user creating their own customer row): `own_id` raises `UnusableClaim`,
which a function answers with a 4xx naming the claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from queuefirst.model.validation import ID_PATTERN, is_id, storable

# The two authorizers (and user pools): every secured route names one.
USERS = "users"
OPERATORS = "operators"
AUTHORIZERS = (USERS, OPERATORS)
# What a principal's label starts with, in the history of every command it sent.
LABEL_PREFIX = {USERS: "user", OPERATORS: "operator"}
MAX_SUBJECT_LENGTH = 128  # a subject an end user owns rows by must fit an id


def issuer_variable(kind: str) -> str:
    """`QUEUEFIRST_USERS_ISSUER`, `QUEUEFIRST_OPERATORS_ISSUER`: what a function checks `iss` against."""
    return f"QUEUEFIRST_{kind.upper()}_ISSUER"


class NotAuthenticated(Exception):
    """The request carries no usable principal for its route."""


class ClaimError(Exception):
    """A verified claim that cannot serve: `claim` names it (`sub`, `username`)."""

    def __init__(self, claim: str, message: str) -> None:
        super().__init__(message)
        self.claim = claim
        self.message = message


class UnusableClaim(ClaimError):
    """A sound claim this request cannot use (a subject that is no id naming a row): a 4xx."""


class MisissuedClaim(ClaimError):
    """A claim no request could be served with: the issuer is misconfigured, a logged 500."""


@dataclass(frozen=True)
class Principal:
    kind: str  # USERS or OPERATORS
    subject: str
    name: str

    @property
    def is_operator(self) -> bool:
        return self.kind == OPERATORS

    @property
    def label(self) -> str:
        """How commands record who sent them: `user:<sub>`, `operator:<name>`."""
        return f"{LABEL_PREFIX[self.kind]}:{self.subject if self.kind == USERS else self.name}"

    def own_id(self) -> str:
        """The subject as the id of the row an end user *is* (their customer row)."""
        if not is_id(self.subject):
            raise UnusableClaim(
                "sub",
                f"the token's subject (claim sub) {self.subject!r} cannot be an id, so no row can be "
                f"its own: ids match {ID_PATTERN}",
            )
        return self.subject


def principal_from_claims(kind: str, claims: Mapping[str, Any], issuer: str | None = None) -> Principal:
    """The principal the route's authorizer admitted; `issuer`, where known, must be the token's."""
    if kind not in AUTHORIZERS:
        raise NotAuthenticated(f"unknown authorizer {kind!r}")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
        raise NotAuthenticated("the token names no subject")
    if issuer is not None and claims.get("iss") != issuer:
        raise NotAuthenticated("the token is not from this route's issuer")
    name_claim = next((c for c in ("username", "cognito:username") if claims.get(c)), "sub")
    name = str(claims[name_claim])[:MAX_SUBJECT_LENGTH]
    for claim, value in (("sub", subject), (name_claim, name)):
        if not storable(value):
            raise MisissuedClaim(
                claim,
                f"the {kind}' issuer minted a token whose claim {claim} no row can record "
                "(NUL, or no UTF-8): check the issuer's configuration",
            )
    return Principal(kind, subject, name)


def claims_of(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The verified claims of an HTTP API (2.0) event, or None where no JWT authorizer ran."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims")
    return claims if isinstance(claims, Mapping) else None
