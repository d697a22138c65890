"""The admin console in a real browser: Debian's headless Chromium, driven by Playwright,
against `queuefirst dev` running the shop, as an operator uses it.

Every view is loaded by the page's own script with the operator's token, through
the local gateway's operators' authorizer, from the admin function running in
its own runtime pool; every change is a command the workers apply. Each page's
screenshot goes to a temporary folder, or to $QUEUEFIRST_SCREENSHOTS
(`make screenshots` points it at docs/screenshots/, which the README shows), so
a test run leaves the checkout as it found it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from queuefirst.admin.csrf import csrf_token
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst.store.database import Database
from tests.e2e.conftest import RunningStack, start_stack, stop_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("QUEUEFIRST_SCREENSHOTS") or Path(tempfile.gettempdir()) / "queuefirst-shots")
OPERATOR = "alice"
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def console(rie_path: str) -> Iterator[RunningStack]:
    # A short visibility timeout: a poison message reaches its dead-letter queue in seconds.
    running = start_stack(rie_path, "--visibility-timeout", "1", app="shop")
    yield running
    stop_stack(running)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail("the browser tests need Debian's chromium: apt-get install -y chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(browser: Browser, console: RunningStack) -> Iterator[Page]:
    """One signed-in tab for the whole walk through, as an operator keeps one open."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=console.url)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == []  # no script error, nothing the CSP refused to run


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def heading(page: Page, text: str) -> None:
    expect(page.locator("main h1")).to_contain_text(text, timeout=WAIT_MS)


def until(page: Page, check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Reload the page until `check` holds: the view as it stands once the workers caught up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_selector("main [data-title]", timeout=WAIT_MS)
        if check():
            return
        time.sleep(0.3)
        page.reload()
    raise AssertionError(f"{what}: not seen in {timeout} s; the page shows:\n{page.inner_text('main')}")


def submit_form(page: Page, fields: dict[str, str], button: str) -> None:
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name=button, exact=True).click()


def applied(page: Page) -> None:
    expect(page.locator("#command-status [data-status]")).to_have_attribute(
        "data-status", "applied", timeout=WAIT_MS
    )


def raw(
    console: RunningStack, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, str]:
    request = urllib.request.Request(console.url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# -- access ------------------------------------------------------------------------------


def test_without_an_operators_token_nothing_is_read_or_changed(
    console: RunningStack, browser: Browser
) -> None:
    assert raw(console, "GET", "/admin/x/customers")[0] == 401  # the gateway's authorizer
    user = console.token(USERS, "ann")
    assert raw(console, "GET", "/admin/x/customers", authorization=f"Bearer {user}")[0] == 401
    status, shell = raw(console, "GET", "/admin/customers")
    assert status == 200 and "Loading" in shell  # the public shell: no data in it
    operator = console.token(OPERATORS, OPERATOR)
    form = b"id=forged&email=f%40example.com&name=Forged"
    forged = raw(
        console,
        "POST",
        "/admin/x/customers",
        form,
        authorization=f"Bearer {operator}",
        **{"content-type": "application/x-www-form-urlencoded"},
    )
    assert forged[0] == 403 and "CSRF" in forged[1]
    with_csrf = form + b"&csrf_token=" + csrf_token("another-token").encode()
    assert (
        raw(
            console,
            "POST",
            "/admin/x/customers",
            with_csrf,
            authorization=f"Bearer {operator}",
            **{"content-type": "application/x-www-form-urlencoded"},
        )[0]
        == 403
    )
    assert console.queue_depths()["shop-customers.fifo"] == ("0", "0")  # nothing was enqueued
    # A browser without a token lands on the login page.
    context = browser.new_context(base_url=console.url)
    tab = context.new_page()
    tab.goto("/admin/customers")
    tab.wait_for_url("**/admin/login?next=%2Fadmin%2Fcustomers")
    expect(tab.get_by_label("Operator token")).to_be_visible()
    tab.get_by_label("Operator token").fill(user)  # an end user's token does not open it
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.locator("#login-error")).to_contain_text("does not open the console")
    context.close()


def test_log_in(page: Page, console: RunningStack) -> None:
    page.goto("/admin/customers")
    page.wait_for_url("**/admin/login**")
    shot(page, "login")
    page.get_by_label("Operator token").fill(console.token(OPERATORS, OPERATOR))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/customers")
    heading(page, "Customers")
    expect(page.locator("#operator-name")).to_have_text(OPERATOR)
    expect(page.locator("main .empty")).to_contain_text("No customers yet")


# -- data --------------------------------------------------------------------------------


def test_create_a_customer_and_watch_it_apply_then_edit_it(page: Page) -> None:
    page.get_by_role("link", name="New customers row").click()
    heading(page, "New customers row")
    submit_form(
        page,
        {"Id": "ann", "Email (required)": "ann-at-example", "Name (required)": "Ann"},
        "Create customers",
    )
    expect(page.locator("main [role=alert]")).to_contain_text("email", timeout=WAIT_MS)
    expect(page.get_by_label("Email (required)")).to_have_attribute("aria-invalid", "true")
    shot(page, "form-error")
    submit_form(page, {"Email (required)": "ann@example.com"}, "Create customers")
    heading(page, "Command")
    applied(page)
    shot(page, "command")
    page.get_by_role("link", name="View customers ann").click()
    heading(page, "Customers ann")
    page.get_by_role("link", name="Edit", exact=True).click()
    heading(page, "Edit customers ann")
    submit_form(page, {"Name": "Ann Lee"}, "Save changes")
    applied(page)
    page.get_by_role("link", name="View customers ann").click()
    expect(page.locator("[data-field=name]")).to_have_text("Ann Lee")
    history = page.locator("table.history tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("update")
    expect(history.first).to_contain_text(f"admin {OPERATOR}")


def test_place_an_order_pay_ship_and_read_why_it_cannot_be_cancelled(page: Page) -> None:
    page.goto("/admin/new/products")
    heading(page, "New products row")
    submit_form(
        page,
        {
            "Id": "tea",
            "Sku (required)": "TEA-1",
            "Name (required)": "Tea",
            "Price minor (required)": "450",
            "Currency (required)": "EUR",
        },
        "Create products",
    )
    applied(page)
    page.goto("/admin/products/tea")
    submit_form(page, {"Quantity (required)": "10"}, "Restock")
    applied(page)
    page.goto("/admin/customers/ann")
    page.get_by_role("link", name="New orders row").click()
    heading(page, "New orders row")
    expect(page.get_by_label("Customer id (required)")).to_have_value("ann")
    submit_form(page, {"Id": "o-1", "Currency (required)": "EUR"}, "Create orders")
    applied(page)
    page.get_by_role("link", name="View orders o-1").click()
    page.get_by_role("link", name="New order items row").click()
    submit_form(
        page,
        {
            "Id": "i-1",
            "Product id (required)": "tea",
            "Quantity (required)": "2",
        },
        "Create order items",
    )
    applied(page)
    page.goto("/admin/orders/o-1")
    heading(page, "Orders o-1")
    expect(page.locator("main table").first).to_contain_text("i-1")  # its item, reserved at its price
    expect(page.locator("main table").first).to_contain_text("reserved")
    expect(page.locator("[data-field=total_minor]")).to_have_text("900")
    submit_form(page, {"Reference (required)": "PAY-42"}, "Pay")
    applied(page)
    page.goto("/admin/orders/o-1")
    page.get_by_role("button", name="Ship", exact=True).click()
    applied(page)
    page.goto("/admin/orders/o-1")
    expect(page.locator("[data-field=status]")).to_have_text("shipped")
    submit_form(page, {"Reason (required)": "changed my mind"}, "Cancel")
    heading(page, "Cancel orders o-1")
    expect(page.locator("main [role=alert]")).to_contain_text(
        "the order is shipped: only a pending or paid order can be cancelled"
    )
    shot(page, "rejection")
    page.goto("/admin/orders/o-1")
    heading(page, "Orders o-1")
    shot(page, "detail")


def test_suspending_a_customer_cancels_their_pending_orders(page: Page) -> None:
    page.goto("/admin/new/customers")
    submit_form(
        page,
        {"Id": "bob", "Email (required)": "bob@example.com", "Name (required)": "Bob"},
        "Create customers",
    )
    applied(page)
    for key in ("o-2", "o-3"):
        page.goto("/admin/new/orders?customer_id=bob")
        submit_form(page, {"Id": key, "Currency (required)": "EUR"}, "Create orders")
        applied(page)
    page.goto("/admin/customers/bob")
    submit_form(page, {"Reason (required)": "chargebacks"}, "Suspend")
    applied(page)
    page.goto("/admin/customers/bob")
    orders = page.locator("main table").first
    until(page, lambda: orders.inner_text().count("cancelled") == 2, "both pending orders cancelled")
    expect(page.locator("[data-field=status]")).to_have_text("suspended")
    page.goto("/admin/orders/o-2")
    expect(page.locator("[data-field=cancel_reason]")).to_have_text("customer suspended: chargebacks")
    expect(page.locator("table.history")).to_contain_text("worker customers")


def test_deleting_a_customer_cascades_to_orders_and_keeps_the_shipped_one(page: Page) -> None:
    """Ann's account goes, with her pending order and its item; her shipped order o-1 stays,
    the shop's record, its refusal to go in its history with the reason."""
    page.goto("/admin/new/orders?customer_id=ann")
    submit_form(page, {"Id": "o-9", "Currency (required)": "EUR"}, "Create orders")
    applied(page)
    page.goto("/admin/customers")
    shot(page, "list")
    page.goto("/admin/customers/ann")
    page.get_by_role("link", name="Delete…").click()
    heading(page, "Delete customers ann?")
    expect(page.locator("main")).to_contain_text("cascades")
    page.get_by_role("button", name="Delete ann").click()
    applied(page)
    page.goto("/admin/orders/o-9")
    until(page, lambda: page.locator("main [data-error='404']").count() == 1, "the cascade reached o-9")
    page.goto("/admin/orders/o-1")
    expect(page.locator("[data-field=status]")).to_have_text("shipped")
    expect(page.locator("table.history")).to_contain_text("a shipped order is kept as a record")
    page.goto("/admin/order_items/i-1")
    expect(page.locator("[data-field=status]")).to_have_text("shipped")


# -- operations --------------------------------------------------------------------------


def test_a_poison_message_is_found_with_its_reason_and_redriven_once_fixed(
    page: Page, console: RunningStack
) -> None:
    database = Database(console.state["database_url"])
    conn = database.connection()
    # The cause: a table the products worker needs is missing (say, a migration not run
    # yet); the create is accepted, fails at the worker, retries and is dead-lettered.
    conn.execute("ALTER TABLE products__commands RENAME TO products__commands_pending")
    try:
        page.goto("/admin/new/products")
        submit_form(
            page,
            {
                "Id": "jam",
                "Sku (required)": "JAM-1",
                "Name (required)": "Jam",
                "Price minor (required)": "300",
                "Currency (required)": "EUR",
            },
            "Create products",
        )
        heading(page, "Command")
        page.goto("/admin/operations")
        letter = page.locator("section[data-entity=products] tr[data-message]")
        until(page, lambda: letter.count() == 1, "the create dead-lettered", timeout=90)
    finally:
        conn.execute("ALTER TABLE products__commands_pending RENAME TO products__commands")
        database.close()
    expect(letter.locator("[data-reason]")).to_contain_text('relation "products__commands" does not exist')
    expect(letter).to_contain_text("jam")
    shot(page, "operations")
    letter.get_by_role("button", name="Redrive").click()
    expect(page.locator("main .notice")).to_contain_text("Redrove 1 message(s) to products")
    page.goto("/admin/products/jam")
    until(page, lambda: page.locator("[data-field=name]").count() == 1, "the redriven create applied")
    expect(page.locator("[data-field=name]")).to_have_text("Jam")


def _pool(console: RunningStack, function: str) -> int:
    return len(json.loads((console.home / "dev.json").read_text())["functions"][function]["pids"])


def test_changing_scaling_on_the_page_changes_the_running_pool(page: Page, console: RunningStack) -> None:
    page.goto("/admin/operations")
    heading(page, "Operations")
    row = page.locator("tr[data-function='shop-orders-worker']")
    expect(row.locator("[data-figure=maximum_concurrency]")).to_have_text("4")
    expect(row.locator("[data-figure=runtimes]")).to_contain_text("2 of 4")
    form = page.locator("form[data-scaling=orders]")
    form.get_by_label("Maximum concurrency").fill("6")
    form.get_by_role("button", name="Apply to orders").click()
    expect(page.locator("main .notice")).to_contain_text("maximum concurrency 6")
    expect(row.locator("[data-figure=maximum_concurrency]")).to_have_text("6")
    expect(row.locator("[data-figure=runtimes]")).to_contain_text("2 of 6")
    expect(row.locator("[data-figure=pollers]")).to_have_text("6")
    # A reserved concurrency caps the pool: the runtimes beyond it stop at once.
    assert _pool(console, "shop-orders-worker") == 2
    form = page.locator("form[data-scaling=orders]")
    form.get_by_label("Reserved concurrency").fill("1")
    form.get_by_role("button", name="Apply to orders").click()
    expect(page.locator("main .notice")).to_contain_text("reserved concurrency 1")
    until(
        page, lambda: "1 of 1" in row.locator("[data-figure=runtimes]").inner_text(), "the pool shrank to 1"
    )
    assert _pool(console, "shop-orders-worker") == 1
    assert "shop-orders-worker: scaling changed" in console.log()
    # Bad input: a 4xx naming the field, nothing changed.
    form = page.locator("form[data-scaling=orders]")
    form.get_by_label("Batch size").fill("11")
    form.get_by_role("button", name="Apply to orders").click()
    expect(page.locator("main .notice")).to_contain_text("batch_size")
    expect(row.locator("[data-figure=runtimes]")).to_contain_text("1 of 1")
