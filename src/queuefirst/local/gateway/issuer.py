"""The local token issuer: what Cognito's user pools are to the deployed system.

One issuer per population (`users`, `operators`, as deployed: two pools), each
with its own RSA signing key, kept in `QUEUEFIRST_HOME/issuer/<kind>.pem`
(created on first use, readable by its owner only) and published as a JWKS
to the local gateway, which verifies tokens against it. Nothing goes over
the network: the issuer URL is under `.invalid` (RFC 2606), never resolved.

Tokens look like a Cognito user pool's access tokens, so the functions read
the same claims locally and deployed:

    sub        the principal's subject (an end user's id: a customer's id is their sub)
    username   the principal's name (an operator's name in the history)
    iss        this issuer's URL, one per population
    client_id  the app client the token was issued to (the authorizer's audience)
    token_use  "access"
    scope      "aws.cognito.signin.user.admin"
    auth_time, iat, exp, jti

`queuefirst token user <id>` and `queuefirst token operator <name>` print one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from queuefirst.local.gateway.authorizer import JwtAuthorizer
from queuefirst.model.principal import AUTHORIZERS

ALGORITHM = "RS256"
KEY_BITS = 2048
DEFAULT_LIFETIME_SECONDS = 3600
ISSUER_DIR = "issuer"
COGNITO_SCOPE = "aws.cognito.signin.user.admin"


class LocalIssuer:
    def __init__(self, home: Path, app: str) -> None:
        self.directory = home / ISSUER_DIR
        self.app = app
        self._keys: dict[str, rsa.RSAPrivateKey] = {}

    def issuer(self, kind: str) -> str:
        _check(kind)
        return f"https://issuer.queuefirst.invalid/{self.app}/{kind}"

    def audience(self, kind: str) -> str:
        """The app client id tokens of `kind` are issued to (what its authorizer accepts)."""
        _check(kind)
        return f"{self.app}-{kind}-local"

    def private_key(self, kind: str) -> rsa.RSAPrivateKey:
        _check(kind)
        if kind not in self._keys:
            path = self.directory / f"{kind}.pem"
            if not path.is_file():
                _create_key(path)
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{path} does not hold an RSA private key")
            self._keys[kind] = key
        return self._keys[kind]

    def jwks(self, kind: str) -> dict[str, Any]:
        """The public key set, as `<issuer>/.well-known/jwks.json` would serve it."""
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key(kind).public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": _key_id(jwk), "alg": ALGORITHM, "use": "sig"}]}

    def authorizer(self, kind: str) -> JwtAuthorizer:
        """The JWT authorizer the gateway puts in front of `kind`'s routes."""
        return JwtAuthorizer(kind, self.issuer(kind), (self.audience(kind),), self.jwks(kind))

    def authorizers(self) -> dict[str, JwtAuthorizer]:
        return {kind: self.authorizer(kind) for kind in AUTHORIZERS}

    def claims(
        self, kind: str, subject: str, *, expires_in: int = DEFAULT_LIFETIME_SECONDS, now: float | None = None
    ) -> dict[str, Any]:
        issued = int(time.time() if now is None else now)
        return {
            "sub": subject,
            "iss": self.issuer(kind),
            "client_id": self.audience(kind),
            "token_use": "access",
            "scope": COGNITO_SCOPE,
            "auth_time": issued,
            "iat": issued,
            "exp": issued + expires_in,
            "jti": str(uuid.uuid4()),
            "username": subject,
        }

    def mint(
        self,
        kind: str,
        subject: str,
        *,
        expires_in: int = DEFAULT_LIFETIME_SECONDS,
        now: float | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed token; `overrides` replaces claims (None removes one), for tests of the authorizer."""
        claims = self.claims(kind, subject, expires_in=expires_in, now=now)
        for name, value in (overrides or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        kid = self.jwks(kind)["keys"][0]["kid"]
        return jwt.encode(claims, self.private_key(kind), algorithm=ALGORITHM, headers={"kid": kid})


def _check(kind: str) -> None:
    if kind not in AUTHORIZERS:
        raise ValueError(f"unknown principal kind {kind!r}: one of {', '.join(AUTHORIZERS)}")


def _key_id(jwk: Mapping[str, Any]) -> str:
    """RFC 7638's thumbprint of the public key: stable for a key, new for a new one."""
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _create_key(path: Path) -> None:
    """A new key, written once: a second process creating it at the same moment keeps the first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    try:
        os.link(partial, path)  # fails if another process got there first: theirs stands
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
