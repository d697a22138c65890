"""The admin function on real HTTP API events, real PostgreSQL and SQS (moto's server), the shop.

The events carry what API Gateway's JWT authorizer puts in them (the claims
under `requestContext.authorizer.jwt`), so these tests hold the function to
its side of the contract: no claims, no data; no CSRF token, no change; the
same commands the api sends, with the operator as their producer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from queuefirst.admin.csrf import csrf_token
from queuefirst.admin.http import CSP
from queuefirst.admin.root import build_admin
from queuefirst.admin.settings import AdminSettings
from queuefirst.local import EntityQueues, http_event
from queuefirst.model.registry import Registry
from queuefirst.runtime.settings import WorkerSettings
from queuefirst.store.database import Database
from queuefirst.worker.handler import make_handler
from queuefirst.worker.root import build_worker
from tests.helpers import Context, bodies, deliver, receive_event, rows

pytestmark = pytest.mark.integration

TOKEN = "header.payload.signature-of-alice"
CLAIMS = {"sub": "op-1", "username": "alice", "client_id": "shop-operators"}


class Page:
    def __init__(self, response: dict[str, Any]) -> None:
        self.status: int = response["statusCode"]
        self.headers: dict[str, str] = response["headers"]
        self.text: str = response["body"]


Call = Callable[..., Page]


@pytest.fixture(scope="module")
def admin(shop: Registry, shop_url: str, sqs_endpoint: str, shop_session_queues: Any) -> Any:
    settings = AdminSettings(
        DATABASE_URL=shop_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_ADMIN_PAGE_SIZE=2
    )
    return build_admin(shop, settings)


@pytest.fixture
def call(admin: Any, shop_db: Database, shop_queues: Any) -> Call:
    def invoke(
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        *,
        claims: dict[str, str] | None = CLAIMS,
        token: str | None = TOKEN,
        csrf: bool = True,
        query: str = "",
    ) -> Page:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        body = None
        if form is not None:
            fields = dict(form)
            if csrf and token:
                fields["csrf_token"] = csrf_token(token)
            body = urlencode(fields).encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
        event = http_event(method, path, query=query, headers=headers, body=body)
        if claims is not None:
            event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        return Page(admin(event, Context()))

    return invoke


@pytest.fixture
def apply(
    shop: Registry, shop_url: str, sqs_endpoint: str, sqs_client: Any, shop_queues: dict[str, EntityQueues]
) -> Callable[[str], None]:
    handlers: dict[str, Any] = {}

    def one(entity: str) -> bool:
        if entity not in handlers:
            settings = WorkerSettings(
                DATABASE_URL=shop_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_ENTITY=entity
            )
            handlers[entity] = make_handler(build_worker("shop", shop[entity], settings))
        event, response = deliver(handlers[entity], sqs_client, shop_queues[entity], wait=0)
        assert response == {"batchItemFailures": []}
        return bool(event["Records"])

    def run(entity: str) -> None:
        """Apply what the console sent for `entity`, and everything it leads to (a parent's
        admission first, the asks and answers after), until every queue is quiet."""
        for _ in range(20):
            if not any([one(name) for name in shop]):
                return
        raise AssertionError("the queues did not settle")

    return run


ANN = {"id": "ann", "email": "ann@example.com", "name": "Ann"}


def test_the_shell_and_assets_are_public_and_hold_no_data(call: Call) -> None:
    shell = call("GET", "/admin/customers/ann", claims=None, token=None)
    assert shell.status == 200 and 'id="main"' in shell.text and "ann@" not in shell.text
    assert shell.headers["Content-Security-Policy"] == CSP
    assert "<script>" not in shell.text and "style=" not in shell.text  # nothing inline: CSP allows none
    script = call("GET", "/admin/static/admin.js", claims=None, token=None)
    assert script.status == 200 and "javascript" in script.headers["Content-Type"]
    assert call("GET", "/admin/static/../app.py", claims=None, token=None).status == 404
    assert call("POST", "/admin/customers", {}, claims=None, token=None).status == 405


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/x/"),
        ("GET", "/admin/x/customers"),
        ("GET", "/admin/x/operations"),
        ("POST", "/admin/x/customers"),
    ],
)
def test_views_refuse_a_request_that_passed_no_authorizer(call: Call, method: str, path: str) -> None:
    form = ANN if method == "POST" else None
    assert call(method, path, form, claims=None).status == 401
    assert call(method, path, form, token=None).status == 401


def test_a_form_without_its_csrf_token_is_refused_and_sends_nothing(
    call: Call, sqs_client: Any, shop_queues: dict[str, EntityQueues]
) -> None:
    assert call("POST", "/admin/x/customers", ANN, csrf=False).status == 403
    forged = call("POST", "/admin/x/customers", {**ANN, "csrf_token": csrf_token("someone-else")}, csrf=False)
    assert forged.status == 403
    assert receive_event(sqs_client, shop_queues["customers"], wait=0)["Records"] == []


def test_create_sends_the_apis_command_with_the_operator_as_producer(
    call: Call, sqs_client: Any, shop_queues: dict[str, EntityQueues], apply: Callable[[str], None]
) -> None:
    page = call("POST", "/admin/x/customers", ANN)
    assert page.status == 202
    (command,) = bodies(receive_event(sqs_client, shop_queues["customers"], visibility=0, max_messages=1))
    assert command["op"] == "create" and command["key"] == "ann"
    assert command["payload"] == {"email": "ann@example.com", "name": "Ann", "phone": None}
    assert command["producer"] == {"kind": "admin", "principal": "alice"}
    assert page.headers["X-Admin-Path"].startswith(f"/admin/commands/{command['command_id']}")
    assert "data-poll" in page.text  # pending: the shell polls it
    apply("customers")
    status = call(
        "GET", f"/admin/x/commands/{command['command_id']}/status", query="entity=customers&key=ann"
    )
    assert 'data-status="applied"' in status.text and "data-poll" not in status.text
    detail = call("GET", "/admin/x/customers/ann")
    assert detail.status == 200 and "ann@example.com" in detail.text
    assert re.search(r"admin\s*<span class=\"principal\">alice</span>", detail.text)  # the history says who


def test_bad_input_is_a_4xx_naming_the_field(call: Call, apply: Callable[[str], None]) -> None:
    bad_email = call("POST", "/admin/x/customers", {**ANN, "email": "not-an-email"})
    assert bad_email.status == 422 and "<strong>email</strong>" in bad_email.text
    bad_id = call("POST", "/admin/x/customers", {**ANN, "id": "no spaces"})
    assert bad_id.status == 422 and "<strong>id</strong>" in bad_id.text
    call(
        "POST",
        "/admin/x/products",
        {"id": "tea", "sku": "TEA-1", "name": "Tea", "price_minor": "x", "currency": "EUR"},
    )
    not_a_number = call(
        "POST",
        "/admin/x/products",
        {"id": "tea", "sku": "TEA-1", "name": "Tea", "price_minor": "x", "currency": "EUR"},
    )
    assert not_a_number.status == 422 and "<strong>price_minor</strong>" in not_a_number.text
    assert call("POST", "/admin/x/customers", ANN).status == 202
    apply("customers")
    assert call("POST", "/admin/x/customers", ANN).status == 409  # the api's courtesy check
    unchanged = call(
        "POST", "/admin/x/customers/ann/edit", {"email": "ann@example.com", "name": "Ann", "phone": ""}
    )
    assert unchanged.status == 422 and "nothing changed" in unchanged.text
    assert call("GET", "/admin/x/customers/nobody").status == 404
    assert call("POST", "/admin/x/customers/nobody/actions/suspend", {"reason": "x"}).status == 404
    assert call("POST", "/admin/x/customers/ann/actions/reinstate", {}).status == 409  # the worker's own rule


def test_list_searches_filters_by_parent_and_pages(call: Call, apply: Callable[[str], None]) -> None:
    for key, name in (("ann", "Ann"), ("bob", "Bob"), ("cy", "Cyrus")):
        call("POST", "/admin/x/customers", {"id": key, "email": f"{key}@example.com", "name": name})
    apply("customers")
    first = call("GET", "/admin/x/customers")
    assert ">ann<" in first.text and ">bob<" in first.text and ">cy<" not in first.text  # page size 2
    assert "after=bob" in first.text
    assert ">cy<" in call("GET", "/admin/x/customers", query="after=bob").text
    found = call("GET", "/admin/x/customers", query="q=cyr")
    assert ">cy<" in found.text and ">ann<" not in found.text
    assert "No customers match" in call("GET", "/admin/x/customers", query="q=zzz").text
    call("POST", "/admin/x/orders", {"id": "o-1", "customer_id": "ann", "currency": "EUR"})
    call("POST", "/admin/x/orders", {"id": "o-2", "customer_id": "bob", "currency": "EUR"})
    apply("orders")
    under_ann = call("GET", "/admin/x/orders", query="customer_id=ann")
    assert ">o-1<" in under_ann.text and ">o-2<" not in under_ann.text
    assert call("GET", "/admin/x/orders", query="customer_id=a%20b").status == 422


def test_an_operator_action_cascades_through_the_queues(call: Call, apply: Callable[[str], None]) -> None:
    call("POST", "/admin/x/customers", ANN)
    apply("customers")
    call("POST", "/admin/x/orders", {"id": "o-1", "customer_id": "ann", "currency": "EUR"})
    apply("orders")
    assert call("POST", "/admin/x/customers/ann/actions/suspend", {"reason": "fraud"}).status == 202
    apply("customers")
    apply("orders")
    order = call("GET", "/admin/x/orders/o-1").text
    assert "cancelled" in order and "customer suspended: fraud" in order
    assert re.search(r"worker\s*<span class=\"principal\">customers</span>", order)


def test_an_id_is_matched_whole_as_the_api_and_the_worker_match_it(call: Call) -> None:
    """`ann` followed by a newline is no id: `re.match` with `$` let it through (it ends the line)."""
    page = call("GET", "/admin/x/orders", query="after=ann%0A")  # (a parent filter is trimmed)
    assert page.status == 422 and "is not an id" in page.text
    assert call("POST", "/admin/x/customers", {**ANN, "id": "ann\n"}).status == 422
    detail = call("GET", "/admin/x/customers/ann%0A")
    assert detail.status == 404 and "is not an id" in detail.text


def test_an_operator_name_no_command_could_record_is_a_logged_500_and_sends_nothing(
    call: Call, sqs_client: Any, shop_queues: dict[str, EntityQueues], caplog: pytest.LogCaptureFixture
) -> None:
    """The history records who sent each command; PostgreSQL holds no NUL: the issuer is at fault."""
    page = call("POST", "/admin/x/customers", ANN, claims={**CLAIMS, "username": "ali\x00ce"})
    assert page.status == 500 and "claim username" in page.text
    assert [r for r in caplog.records if r.levelname == "ERROR" and getattr(r, "claim", None) == "username"]
    assert receive_event(sqs_client, shop_queues["customers"], wait=0)["Records"] == []


def test_the_console_offers_every_action_with_a_route_and_no_internal_one(
    call: Call, apply: Callable[[str], None]
) -> None:
    tea = {"id": "tea", "sku": "TEA-1", "name": "Tea", "price_minor": "450", "currency": "EUR"}
    assert call("POST", "/admin/x/products", tea).status == 202
    apply("products")
    detail = call("GET", "/admin/x/products/tea").text
    assert "/actions/restock" in detail and "/actions/reserve" not in detail  # reserve: items ask it
    assert call("POST", "/admin/x/products/tea/actions/reserve", {"quantity": "1"}).status == 404
    assert call("POST", "/admin/x/products/tea/actions/restock", {"quantity": "1"}).status == 202


def test_a_search_holding_a_nul_is_a_4xx_naming_the_field(call: Call) -> None:
    """PostgreSQL refuses NUL in text; the console says so instead of failing with a 500."""
    page = call("GET", "/admin/x/customers", query="q=a%00b")
    assert page.status == 422 and "<strong>q</strong>" in page.text
    assert call("GET", "/admin/x/orders", query="customer_id=a%00").status == 422


def test_stored_text_that_reads_like_the_csrf_placeholder_is_never_replaced(
    call: Call, apply: Callable[[str], None], shop_db: Database
) -> None:
    """The CSRF token goes into the console's own forms only: a row holding the text
    `__CSRF_TOKEN__` shows it as it is, and saving the edit form as the page fills it
    in (changing another field) keeps it, so no operator's token reaches the row."""
    placeholder = "__CSRF_TOKEN__"
    assert call("POST", "/admin/x/customers", {**ANN, "name": placeholder}).status == 202
    apply("customers")
    token = csrf_token(TOKEN)
    detail = call("GET", "/admin/x/customers/ann").text
    assert placeholder in detail
    edit = call("GET", "/admin/x/customers/ann/edit").text
    shown = dict(re.findall(r'<input id="[^"]*" name="(\w+)" value="([^"]*)"', edit))
    assert shown["name"] == placeholder and token not in shown.values()
    assert f'name="csrf_token" value="{token}"' in edit  # the form's own token is there
    saved = call("POST", "/admin/x/customers/ann/edit", {**shown, "phone": "+33123456789"})
    assert saved.status == 202
    apply("customers")
    assert rows(shop_db, "customers")["ann"]["name"] == placeholder
    assert placeholder in call("GET", "/admin/x/customers", query="q=CSRF").text


def test_an_order_shows_its_items_reserved_at_their_products_price_and_a_refusal_with_its_reason(
    call: Call, apply: Callable[[str], None]
) -> None:
    """Through the console's forms: a product stocked, an order, two items, one more than the
    stock holds: refused at once, in the product's own words (its declared precondition)."""
    assert call("POST", "/admin/x/customers", {**ANN, "id": "dora"}).status == 202
    assert (
        call(
            "POST",
            "/admin/x/products",
            {"id": "jam", "sku": "JAM-1", "name": "Jam", "price_minor": "300", "currency": "EUR"},
        ).status
        == 202
    )
    apply("products")
    assert call("POST", "/admin/x/products/jam/actions/restock", {"quantity": "5"}).status == 202
    assert (
        call("POST", "/admin/x/orders", {"id": "o-7", "customer_id": "dora", "currency": "EUR"}).status == 202
    )
    apply("orders")
    assert (
        call(
            "POST",
            "/admin/x/order_items",
            {"id": "i-7", "order_id": "o-7", "product_id": "jam", "quantity": "2"},
        ).status
        == 202
    )
    apply("order_items")
    detail = call("GET", "/admin/x/orders/o-7")
    assert detail.status == 200, detail.text
    assert "i-7" in detail.text and "reserved" in detail.text
    too_many = call("POST", "/admin/x/order_items", {"order_id": "o-7", "product_id": "jam", "quantity": "9"})
    assert too_many.status == 409 and "only 3 of Jam in stock" in too_many.text
    item = call("GET", "/admin/x/order_items/i-7")
    assert item.status == 200 and "reserved" in item.text and "300" in item.text
