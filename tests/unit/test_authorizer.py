"""The local issuer and the gateway's JWT authorizer, held to API Gateway's documented checks.

AWS itself can't run here: the authorizer is ours, with PyJWT doing the
signature and time checks; these tests pin each rule of AWS's workflow
(kid, RSA algorithm, signature, iss, aud or else client_id, exp, nbf, iat,
scopes) and the claims' shape in the event.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from queuefirst.local import Denied, JwtAuthorizer, LocalIssuer, claim_text, event_claims
from queuefirst.model.principal import OPERATORS, USERS


@pytest.fixture
def issuer(tmp_path: Path) -> LocalIssuer:
    return LocalIssuer(tmp_path, "shop")


def refused(authorizer: JwtAuthorizer, token: str | None, status: int = 401) -> str:
    with pytest.raises(Denied) as caught:
        authorizer.authorize(None if token is None else f"Bearer {token}")
    assert caught.value.status == status
    return caught.value.description


def test_a_token_of_the_issuer_is_admitted_with_its_claims_as_aws_passes_them(issuer: LocalIssuer) -> None:
    token = issuer.mint(USERS, "ann")
    context = issuer.authorizer(USERS).authorize(f"Bearer {token}")
    claims = context["jwt"]["claims"]
    assert claims["sub"] == "ann" and claims["iss"] == issuer.issuer(USERS)
    assert claims["client_id"] == issuer.audience(USERS) and claims["token_use"] == "access"
    assert all(isinstance(value, str) for value in claims.values())
    assert int(claims["exp"]) - int(claims["iat"]) == 3600
    assert context["jwt"]["scopes"] is None  # the route names no scopes
    # The bare token is accepted too (API Gateway's identity source may hold either).
    assert issuer.authorizer(USERS).authorize(token)["jwt"]["claims"]["sub"] == "ann"


def test_missing_and_malformed_tokens_are_refused(issuer: LocalIssuer) -> None:
    authorizer = issuer.authorizer(USERS)
    assert "no token" in refused(authorizer, None)
    assert "no token" in refused(authorizer, "")
    assert "not a JWT" in refused(authorizer, "not-a-token")


def test_an_expired_or_not_yet_valid_token_is_refused(issuer: LocalIssuer) -> None:
    authorizer = issuer.authorizer(USERS)
    expired = issuer.mint(USERS, "ann", now=time.time() - 7200, expires_in=60)
    assert "expired" in refused(authorizer, expired)
    future = issuer.mint(USERS, "ann", overrides={"nbf": int(time.time()) + 600})
    assert "not valid yet" in refused(authorizer, future)
    issued_later = issuer.mint(USERS, "ann", overrides={"iat": int(time.time()) + 600})
    assert "not valid yet" in refused(authorizer, issued_later)
    assert "exp" in refused(authorizer, issuer.mint(USERS, "ann", overrides={"exp": None}))


def test_the_other_populations_token_is_refused(issuer: LocalIssuer) -> None:
    """An end user's token never opens an operators' route, nor the reverse: another
    issuer, another key, another audience."""
    operator_token = issuer.mint(OPERATORS, "alice")
    user_token = issuer.mint(USERS, "ann")
    assert "kid" in refused(issuer.authorizer(USERS), operator_token)
    assert "kid" in refused(issuer.authorizer(OPERATORS), user_token)


def test_another_issuer_or_audience_is_refused_even_with_the_right_key(issuer: LocalIssuer) -> None:
    authorizer = issuer.authorizer(USERS)
    other_issuer = issuer.mint(USERS, "ann", overrides={"iss": issuer.issuer(OPERATORS)})
    assert "issuer" in refused(authorizer, other_issuer)
    other_audience = issuer.mint(USERS, "ann", overrides={"client_id": "someone-else"})
    assert "audience" in refused(authorizer, other_audience)
    no_audience = issuer.mint(USERS, "ann", overrides={"client_id": None})
    assert "audience" in refused(authorizer, no_audience)


def test_aud_is_read_before_client_id(issuer: LocalIssuer) -> None:
    """As API Gateway: client_id counts only where there is no aud (an ID token has aud)."""
    authorizer = issuer.authorizer(USERS)
    id_token = issuer.mint(USERS, "ann", overrides={"aud": issuer.audience(USERS), "client_id": None})
    assert authorizer.authorize(id_token)["jwt"]["claims"]["aud"] == issuer.audience(USERS)
    wrong_aud = issuer.mint(USERS, "ann", overrides={"aud": "someone-else"})  # client_id still right
    assert "audience" in refused(authorizer, wrong_aud)
    listed = issuer.mint(USERS, "ann", overrides={"aud": ["x", issuer.audience(USERS)]})
    assert authorizer.authorize(listed)["jwt"]["claims"]["aud"] == f"[x {issuer.audience(USERS)}]"


def test_a_tampered_token_fails_its_signature(issuer: LocalIssuer) -> None:
    authorizer = issuer.authorizer(USERS)
    header, payload, signature = issuer.mint(USERS, "ann").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "bob"}).encode()).rstrip(b"=").decode()
    assert "signature" in refused(authorizer, f"{header}.{forged}.{signature}")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert "signature" in refused(authorizer, f"{header}.{payload}.{flipped}")


def test_a_token_signed_by_another_key_under_the_issuers_kid_is_refused(issuer: LocalIssuer) -> None:
    kid = issuer.jwks(USERS)["keys"][0]["kid"]
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(issuer.claims(USERS, "ann"), stranger, algorithm="RS256", headers={"kid": kid})
    assert "signature" in refused(issuer.authorizer(USERS), token)


def test_only_rsa_algorithms_are_accepted(issuer: LocalIssuer) -> None:
    kid = issuer.jwks(USERS)["keys"][0]["kid"]
    claims = issuer.claims(USERS, "ann")
    hmac = jwt.encode(claims, "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256", headers={"kid": kid})
    assert "algorithm" in refused(issuer.authorizer(USERS), hmac)
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": kid})
    assert "algorithm" in refused(issuer.authorizer(USERS), unsigned)


def test_a_route_with_scopes_needs_one_of_them(issuer: LocalIssuer) -> None:
    authorizer = issuer.authorizer(USERS)
    token = f"Bearer {issuer.mint(USERS, 'ann', overrides={'scope': 'orders/read orders/write'})}"
    assert authorizer.authorize(token, ("orders/write",))["jwt"]["scopes"] == ["orders/read", "orders/write"]
    with pytest.raises(Denied) as caught:
        authorizer.authorize(token, ("admin/all",))
    assert (caught.value.status, caught.value.message) == (403, "Forbidden")


def test_claims_are_strings_as_aws_writes_them() -> None:
    assert claim_text(1712345678) == "1712345678"
    assert claim_text(True) == "true"
    assert claim_text(["admin", "poweruser"]) == "[admin poweruser]"
    assert claim_text({"city": "Seattle"}) == '{"city":"Seattle"}'
    assert event_claims({"a": None, "b": "x"}) == {"b": "x"}


def test_keys_are_made_once_private_and_kept(tmp_path: Path) -> None:
    first = LocalIssuer(tmp_path, "shop")
    token = first.mint(USERS, "ann")
    key_file = tmp_path / "issuer" / "users.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = LocalIssuer(tmp_path, "shop")  # a later `queuefirst dev`, or `queuefirst token`
    assert again.authorizer(USERS).authorize(token)["jwt"]["claims"]["sub"] == "ann"
    assert again.jwks(USERS) == first.jwks(USERS) != first.jwks(OPERATORS)
