"""The principal's claims, checked where the api reads them (issue 17): a subject that cannot be
an id may not name a row (422 naming the claim, nothing enqueued, never a 202 whose command dead-
letters), and a claim no row could record (NUL) is the issuer's fault: a logged 500 naming it.

Real HTTP API (2.0) events with the claims API Gateway's JWT authorizer verified (other issuers
than Cognito mint subjects such as `auth0|123`), the shop's api, real PostgreSQL and SQS.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from queuefirst.api.root import build_api
from queuefirst.local import EntityQueues, RouteTable, http_event
from queuefirst.model.http_routes import api_routes
from queuefirst.model.principal import USERS
from queuefirst.model.registry import Registry
from queuefirst.runtime.settings import ApiSettings
from queuefirst.store.database import Database
from tests.helpers import CUSTOMER, Context, claims, receive_event

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shop_api(shop: Registry, shop_url: str, sqs_endpoint: str, shop_session_queues: Any) -> Any:
    return build_api(shop, ApiSettings(DATABASE_URL=shop_url, SQS_ENDPOINT_URL=sqs_endpoint))


def call_as(
    api: Any, registry: Registry, method: str, path: str, body: Any = None, **user_claims: str
) -> tuple[int, Any]:
    """A request an end user's token carried through its route's authorizer, with these claims."""
    route = RouteTable(api_routes(registry)).match(method, path)
    assert route is not None and route.route.authorizer == USERS
    data = json.dumps(body).encode() if body is not None else None
    event = http_event(
        method,
        path,
        route_key=route.route.key,
        path_parameters=route.path_parameters or None,
        authorizer={"jwt": {"claims": {**claims(USERS, "x"), **user_claims}, "scopes": None}},
        body=data,
        headers={"content-type": "application/json"} if data else {},
    )
    response = api(event, Context())
    return response["statusCode"], json.loads(response["body"])


def nothing_queued(client: Any, queues: dict[str, EntityQueues]) -> bool:
    return all(receive_event(client, q, wait=0)["Records"] == [] for q in queues.values())


@pytest.mark.parametrize("subject", ["a b", "../x", "a/b", "auth0|123", "ann\n", "-ann"])
def test_signing_up_with_a_subject_that_cannot_be_an_id_is_422_naming_the_claim(
    shop_api: Any,
    shop: Registry,
    shop_db: Database,
    sqs_client: Any,
    shop_queues: dict[str, EntityQueues],
    subject: str,
) -> None:
    status, answer = call_as(shop_api, shop, "POST", "/customers", CUSTOMER, sub=subject)
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (422, "invalid", "token.sub")
    assert "sub" in answer["error"]["message"]
    assert nothing_queued(sqs_client, shop_queues)


def test_a_subject_that_cannot_be_an_id_still_reads_what_everyone_reads(
    shop_api: Any, shop: Registry, shop_db: Database, shop_queues: Any
) -> None:
    """It owns nothing, so nothing of anyone's is in its reach; the catalogue is."""
    assert call_as(shop_api, shop, "GET", "/products", sub="a b")[0] == 200
    assert call_as(shop_api, shop, "GET", "/orders", sub="a b") == (200, {"items": [], "next_after": None})


@pytest.mark.parametrize(
    ("method", "path", "body", "claim"),
    [
        ("POST", "/customers", CUSTOMER, "sub"),  # signing up: the subject names the row
        ("GET", "/orders", None, "sub"),  # a list of their own rows: the subject filters it
        ("GET", "/products", None, "sub"),  # even where the subject is not used
        ("GET", "/products", None, "username"),
    ],
)
def test_a_claim_holding_nul_is_a_logged_500_naming_it(
    shop_api: Any,
    shop: Registry,
    shop_db: Database,
    sqs_client: Any,
    shop_queues: dict[str, EntityQueues],
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    body: Any,
    claim: str,
) -> None:
    """No row can record it (PostgreSQL text holds no NUL): the issuer minted what no api serves."""
    status, answer = call_as(shop_api, shop, method, path, body, **{claim: "ann\x00"})
    assert (status, answer["error"]["code"]) == (500, "internal")
    assert f"claim {claim}" in answer["error"]["message"]
    logged = [r for r in caplog.records if r.levelname == "ERROR" and getattr(r, "claim", None) == claim]
    assert logged and "\x00" not in logged[0].getMessage()  # the claim named, its value not logged
    assert nothing_queued(sqs_client, shop_queues)
