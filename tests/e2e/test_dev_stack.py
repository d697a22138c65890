"""End to end: the README's walkthrough, dead letters, crashes and scaling,
against `queuefirst dev` running as a subprocess."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
from sqlalchemy import text

from queuefirst.store.engine import make_engine
from tests.e2e.conftest import RunningStack, start_stack, stop_stack
from tests.e2e.walkthrough import CUSTOMER, found, gone, walkthrough

pytestmark = pytest.mark.e2e


def test_walkthrough_create_read_update_and_cascading_delete(stack: RunningStack) -> None:
    walkthrough(stack)
    log = stack.log()
    assert "shop-orders-worker batch of 1 -> ok" in log and "shop-order_items-worker batch of" in log


def test_poison_reaches_the_dlq_with_its_reason_and_applies_after_redrive(stack: RunningStack) -> None:
    engine = make_engine(stack.state["database_url"], pool_size=1)
    # The cause: a table the workers need is missing (say, a migration not run
    # yet). The api does not read it on a create, so the command is accepted.
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE commands RENAME TO commands_pending"))
    try:
        stack.request(
            "POST",
            "/products",
            {"id": "jam", "sku": "JAM-1", "name": "Jam", "price_minor": 300, "currency": "EUR"},
        )
        stack.eventually(
            lambda: "1" in stack.cli("dlq", "ls").stdout.split("products")[1].split("\n")[0],
            timeout=90,
            what="message dead-lettered after maxReceiveCount",
        )
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE commands_pending RENAME TO commands"))
    shown = stack.cli("dlq", "show", "products")
    assert shown.returncode == 0, shown.stderr
    assert "create jam" in shown.stdout and 'relation "commands" does not exist' in shown.stdout

    dry = stack.cli("dlq", "redrive", "products", "--dry-run")
    assert "would redrive 1 message(s)" in dry.stdout
    assert gone(stack, "/products/jam")
    moved = stack.cli("dlq", "redrive", "products")
    assert "redrove 1 message(s) to products" in moved.stdout, moved.stderr
    stack.eventually(lambda: found(stack, "/products/jam"), what="redriven message applied")
    assert "no dead letters" in stack.cli("dlq", "show", "products").stdout
    engine.dispose()


def test_a_worker_runtime_killed_mid_batch_loses_nothing(stack: RunningStack) -> None:
    customer = stack.request("POST", "/customers", {**CUSTOMER, "id": "kill-c"})[1]["id"]
    stack.eventually(lambda: found(stack, f"/customers/{customer}"), what="customer applied")
    stack.request("POST", "/orders", {"id": "kill-o", "customer_id": customer, "currency": "EUR"})
    stack.eventually(lambda: found(stack, "/orders/kill-o"), what="order applied")
    stack.request(
        "POST",
        "/products",
        {"id": "kill-p", "sku": "KILL-1", "name": "P", "price_minor": 1, "currency": "EUR"},
    )
    stack.eventually(lambda: found(stack, "/products/kill-p"), what="product applied")

    items = [f"kill-i{n:02d}" for n in range(40)]
    for item in items:
        assert (
            stack.request(
                "POST",
                "/order_items",
                {
                    "id": item,
                    "order_id": "kill-o",
                    "product_id": "kill-p",
                    "quantity": 1,
                    "unit_price_minor": 1,
                    "currency": "EUR",
                },
            )[0]
            == 202
        )
    # SIGKILL the items worker's runtimes over and over for three seconds: every
    # batch in flight then dies part-way, as a Lambda sandbox can.
    killed = 0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        for pid in runtime_pids(stack, "shop-order_items-worker"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.05)
    assert killed

    def all_there() -> bool:
        page = stack.request("GET", "/order_items?limit=100&order_id=kill-o")[1]
        return sorted(i["id"] for i in page["items"]) == items

    stack.eventually(all_there, timeout=90, what="every item applied after the crashes")
    failed_mid_batch = [
        line
        for line in stack.log().splitlines()
        if line.startswith("shop-order_items-worker batch of") and "-> error" in line
    ]
    assert failed_mid_batch, "no batch was in flight when its runtime died"


def runtime_pids(stack: RunningStack, function: str) -> list[int]:
    """The runtime processes (`python -m awslambdaric`, under RIE) of one function."""
    pids = []
    for process in psutil.process_iter(["pid", "cmdline", "environ"]):
        try:
            cmdline = process.info["cmdline"] or []
            environ = process.info["environ"] or {}
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        if (
            cmdline[:1] != ["aws-lambda-rie"]
            and "awslambdaric" in cmdline
            and not any("aws-lambda-rie" in part for part in cmdline)
            and environ.get("AWS_LAMBDA_FUNCTION_NAME") == function
        ):
            pids.append(process.info["pid"])
    return pids


def test_raising_one_entitys_concurrency_raises_only_its_pool(rie_path: str) -> None:
    baseline = start_stack(rie_path)
    try:
        before = {name: len(f["pids"]) for name, f in baseline.state["functions"].items()}
    finally:
        stop_stack(baseline)
    scaled = start_stack(rie_path, "--concurrency", "orders=4")
    try:
        after = {name: len(f["pids"]) for name, f in scaled.state["functions"].items()}
        alive = {
            name: sum(psutil.pid_exists(p) for p in f["pids"])
            for name, f in scaled.state["functions"].items()
        }
    finally:
        stop_stack(scaled)
    assert after["shop-orders-worker"] == 4 != before["shop-orders-worker"]
    assert {k: v for k, v in after.items() if k != "shop-orders-worker"} == {
        k: v for k, v in before.items() if k != "shop-orders-worker"
    }
    assert alive == after


def test_a_port_in_use_is_one_clear_line_and_nothing_starts(tmp_path: object) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        before = {p.pid for p in psutil.process_iter()}
        result = subprocess.run(
            [sys.executable, "-m", "queuefirst.cli", "dev", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"queuefirst: port {port} is in use: stop what holds it or set QUEUEFIRST_PORT"
    )
    started = [
        p
        for p in psutil.process_iter(["pid", "name"])
        if p.pid not in before and p.info["name"] in ("postgres", "aws-lambda-rie")
    ]
    assert started == []


def test_ctrl_c_leaves_no_orphan_process(rie_path: str) -> None:
    running = start_stack(rie_path)
    pids = [p for f in running.state["functions"].values() for p in f["pids"]]
    assert pids and all(psutil.pid_exists(p) for p in pids)
    assert stop_stack(running) == 0
    time.sleep(0.5)
    leftovers = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert leftovers == []
