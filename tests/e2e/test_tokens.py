"""Every route of the shop's api through the real gateway: without a valid token, 401 and the
function is never invoked (so nothing can be enqueued); public routes need none.

AWS's API Gateway can't run here: the local gateway stands in for it, with
the JWT authorizer checks it documents (see queuefirst/local/gateway/authorizer.py).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from queuefirst.local import LocalIssuer
from queuefirst.model.http_routes import DEFAULT_ROUTE, api_routes
from queuefirst.model.principal import OPERATORS, USERS
from shop import application
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

UNAUTHORIZED = (401, {"message": "Unauthorized"})


def concrete(path: str) -> str:
    return path.replace("{key}", "x-1").replace("{command_id}", str(uuid.uuid4()))


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = json.dumps({**claims, "sub": "someone-else"}).encode()
    return f"{header}.{base64.urlsafe_b64encode(forged).rstrip(b'=').decode()}.{signature}"


def bad_tokens(stack: RunningStack, kind: str, elsewhere: Path) -> dict[str, str | None]:
    """Tokens the `kind` authorizer must refuse, each for one reason (`elsewhere`: another
    issuer's home)."""
    issuer = LocalIssuer(stack.home, "shop")
    stranger = LocalIssuer(elsewhere, "shop")
    other = OPERATORS if kind == USERS else USERS
    return {
        "no token": None,
        "expired": issuer.mint(kind, "ann", now=time.time() - 7200, expires_in=60),
        "another issuer": stranger.mint(kind, "ann"),
        "another issuer's claim": issuer.mint(kind, "ann", overrides={"iss": "https://elsewhere.invalid"}),
        "another audience": issuer.mint(kind, "ann", overrides={"client_id": "another-app"}),
        "tampered": tampered(issuer.mint(kind, "ann")),
        "the other population's": issuer.mint(other, "ann"),
    }


def api_invocations(stack: RunningStack) -> list[str]:
    return [line for line in stack.log().splitlines() if line.startswith("shop-api ")]


def test_every_route_refuses_a_bad_token_before_the_function_runs(
    shop_stack: RunningStack, tmp_path: Path
) -> None:
    routes = [r for r in api_routes(application.registry()) if not r.is_public]
    routes.append(next(r for r in routes if r.path == DEFAULT_ROUTE))  # and any other path
    before = api_invocations(shop_stack)
    tried = 0
    for route in routes:
        assert route.authorizer is not None
        method = "PUT" if route.path == DEFAULT_ROUTE else route.method
        path = "/nowhere/at/all" if route.path == DEFAULT_ROUTE else concrete(route.path)
        body = {"id": "x-1"} if method in ("POST", "PATCH", "PUT") else None
        for reason, token in bad_tokens(shop_stack, route.authorizer, tmp_path).items():
            answer = shop_stack.request(method, path, body, token=token)
            assert answer == UNAUTHORIZED, (route.key, reason, answer)
            tried += 1
    assert tried >= 7 * 25
    assert api_invocations(shop_stack) == before, "a refused request reached the api"
    depths = shop_stack.queue_depths()
    assert depths and all(depth == ("0", "0") for depth in depths.values()), depths


def test_a_refusal_says_why_as_api_gateway_does(shop_stack: RunningStack) -> None:
    expired = LocalIssuer(shop_stack.home, "shop").mint(USERS, "ann", now=time.time() - 7200, expires_in=60)
    request = urllib.request.Request(
        f"{shop_stack.url}/customers/ann", headers={"authorization": f"Bearer {expired}"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 401
    assert caught.value.read() == b'{"message":"Unauthorized"}'  # API Gateway's bytes
    assert caught.value.headers["content-type"] == "application/json"
    assert 'error="invalid_token"' in caught.value.headers["www-authenticate"]
    assert "expired" in caught.value.headers["www-authenticate"]


def test_the_contract_and_its_page_are_public(shop_stack: RunningStack) -> None:
    assert shop_stack.request("GET", "/openapi.json", token=None)[0] == 200
    with urllib.request.urlopen(f"{shop_stack.url}/docs", timeout=30) as response:
        assert response.status == 200 and b"swagger" in response.read().lower()
