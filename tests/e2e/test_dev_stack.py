"""End to end, on the kit's fixture application: the system as `queuefirst dev` runs it,
dead letters and redrive, crashes, scaling and start-up faults, driven over HTTP
against `queuefirst dev` running as a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

from notes import application as notes_application
from queuefirst.local import EmbeddedPostgres, LocalIssuer, event_claims, http_event, sqs_event
from queuefirst.model.command import Command
from queuefirst.model.principal import USERS
from queuefirst.schema.upgrade import upgrade
from queuefirst.store.database import Database
from tests.e2e.conftest import RunningStack, app_environment, start_stack, stop_stack

pytestmark = pytest.mark.e2e


def found(stack: RunningStack, path: str) -> bool:
    return stack.request("GET", path)[0] == 200


def gone(stack: RunningStack, path: str) -> bool:
    return stack.request("GET", path)[0] == 404


def test_a_board_its_cards_an_action_and_the_cascading_delete(stack: RunningStack) -> None:
    status, created = stack.request("POST", "/boards", {"id": "b1", "title": "Todo"})
    # Boards are written by operators: an operator's status route.
    assert status == 202 and created["status_url"] == f"/operator-commands/{created['command_id']}"
    stack.eventually(lambda: found(stack, "/boards/b1"), what="board applied")
    assert stack.request("GET", created["status_url"])[1]["status"] == "applied"
    for key in ("c1", "c2"):
        assert stack.request("POST", "/cards", {"id": key, "board_id": "b1", "text": key})[0] == 202
    stack.eventually(lambda: found(stack, "/cards/c2"), what="cards applied")
    assert stack.request("POST", "/boards/b1/close")[0] == 202
    stack.eventually(
        lambda: stack.request("GET", "/cards/c1")[1].get("done") is True, what="closing completed the cards"
    )
    assert stack.request("DELETE", "/boards/b1")[0] == 202
    stack.eventually(lambda: gone(stack, "/cards/c2"), what="cascade reached the cards")
    assert gone(stack, "/boards/b1") and gone(stack, "/cards/c1")
    log = stack.log()
    assert "notes-boards-worker batch of 1 -> ok" in log and "notes-cards-worker batch of" in log


def test_poison_reaches_the_dlq_with_its_reason_and_applies_after_redrive(stack: RunningStack) -> None:
    database = Database(stack.state["database_url"])
    conn = database.connection()
    # The cause: a table the workers need is missing (say, a migration not run
    # yet). The api does not read it on a create, so the command is accepted.
    conn.execute("ALTER TABLE boards__commands RENAME TO boards__commands_pending")
    try:
        stack.request("POST", "/boards", {"id": "jam", "title": "Jam"})
        stack.eventually(
            lambda: "1" in stack.cli("dlq", "ls").stdout.split("boards")[1].split("\n")[0],
            timeout=90,
            what="message dead-lettered after maxReceiveCount",
        )
    finally:
        conn.execute("ALTER TABLE boards__commands_pending RENAME TO boards__commands")
    shown = stack.cli("dlq", "show", "boards")
    assert shown.returncode == 0, shown.stderr
    assert "create jam" in shown.stdout and 'relation "boards__commands" does not exist' in shown.stdout

    dry = stack.cli("dlq", "redrive", "boards", "--dry-run")
    assert "would redrive 1 message(s)" in dry.stdout
    assert gone(stack, "/boards/jam")
    moved = stack.cli("dlq", "redrive", "boards")
    assert "redrove 1 message(s) to boards" in moved.stdout, moved.stderr
    stack.eventually(lambda: found(stack, "/boards/jam"), what="redriven message applied")
    assert "no dead letters" in stack.cli("dlq", "show", "boards").stdout
    database.close()


def test_the_operators_commands_need_nothing_exported(
    stack: RunningStack, rie_path: str, tmp_path: Path
) -> None:
    """`dlq` and `invoke` find the endpoints and the local credentials in the stack's state file."""
    bare = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env = {**bare, **app_environment("notes"), "QUEUEFIRST_HOME": str(stack.home), "QUEUEFIRST_RIE": rie_path}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "queuefirst.ops.cli", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)

    result = run("dlq", "ls")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["entity", "dead"] and "boards" in result.stdout
    assert run("dlq", "show", "boards").returncode == 0
    event = tmp_path / "get.json"
    # As the gateway hands it on: the route's authorizer admitted an end user.
    claims = event_claims(LocalIssuer(stack.home, "notes").claims(USERS, "reader"))
    authorizer = {"jwt": {"claims": claims, "scopes": None}}
    get = http_event("GET", "/boards", query="limit=1", route_key="GET /boards", authorizer=authorizer)
    event.write_text(json.dumps(get))
    result = run("invoke", "api", str(event))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["statusCode"] == 200  # it read the stack's database


def test_a_worker_runtime_killed_mid_batch_loses_nothing(stack: RunningStack) -> None:
    boards = [f"kill-b{n}" for n in range(8)]
    for board in boards:
        stack.request("POST", "/boards", {"id": board, "title": board})
    stack.eventually(lambda: all(found(stack, f"/boards/{b}") for b in boards), what="boards applied")
    cards = {f"kill-c{n:03d}": boards[n % len(boards)] for n in range(200)}
    # SIGKILL the cards worker's runtimes over and over while the cards arrive: every
    # batch in flight then dies part-way, as a Lambda sandbox can.
    stop, killed = threading.Event(), []

    def kill() -> None:
        while not stop.wait(0.3):
            for pid in runtime_pids(stack, "notes-cards-worker"):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        for card, board in cards.items():
            assert stack.request("POST", "/cards", {"id": card, "board_id": board, "text": card})[0] == 202
        time.sleep(2)
    finally:
        stop.set()
        killer.join()
    assert killed

    def all_there() -> bool:
        listed = []
        for board in boards:
            listed += [
                c["id"] for c in stack.request("GET", f"/cards?limit=100&board_id={board}")[1]["items"]
            ]
        return sorted(listed) == sorted(cards)

    # A lane's head killed max_receive_count times in a row is parked, not lost: an
    # operator redrives it (here, at once) and it applies in its turn.
    deadline = time.monotonic() + 120
    while not all_there() and time.monotonic() < deadline:
        if stack.cli("dlq", "ls").stdout.split("cards")[1].split()[0] != "0":
            assert stack.cli("dlq", "redrive", "cards").returncode == 0
        time.sleep(1)
    stack.eventually(all_there, timeout=5, what="every card applied after the crashes")
    failed_mid_batch = [
        line
        for line in stack.log().splitlines()
        if line.startswith("notes-cards-worker batch of") and "-> error" in line
    ]
    assert failed_mid_batch, "no batch was in flight when its runtime died"


def runtime_pids(stack: RunningStack, function: str) -> list[int]:
    """This stack's runtime processes (`python -m awslambdaric`, under RIE) of one function."""
    pids = []
    for process in psutil.Process(stack.process.pid).children(recursive=True):
        try:
            cmdline = process.cmdline()
            environ = process.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        under_rie = any("aws-lambda-rie" in part for part in cmdline)
        if (
            "awslambdaric" in cmdline
            and not under_rie
            and environ.get("AWS_LAMBDA_FUNCTION_NAME") == function
        ):
            pids.append(process.pid)
    return pids


def test_raising_one_entitys_concurrency_raises_only_its_pool(rie_path: str) -> None:
    baseline = start_stack(rie_path)
    try:
        before = {name: len(f["pids"]) for name, f in baseline.state["functions"].items()}
    finally:
        stop_stack(baseline)
    scaled = start_stack(rie_path, "--concurrency", "cards=4")
    try:
        after = {name: len(f["pids"]) for name, f in scaled.state["functions"].items()}
        alive = {
            name: sum(psutil.pid_exists(p) for p in f["pids"])
            for name, f in scaled.state["functions"].items()
        }
    finally:
        stop_stack(scaled)
    assert after["notes-cards-worker"] == 4 != before["notes-cards-worker"]
    assert {k: v for k, v in after.items() if k != "notes-cards-worker"} == {
        k: v for k, v in before.items() if k != "notes-cards-worker"
    }
    assert alive == after


def test_a_port_in_use_is_one_clear_line_and_nothing_starts(tmp_path: object) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        before = {p.pid for p in psutil.process_iter()}
        result = subprocess.run(
            [sys.executable, "-m", "queuefirst.ops.cli", "dev", "--port", str(port)],
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


def run_dev(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "queuefirst.ops.cli", "dev", "--no-table", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **app_environment("notes"), **env},
    )


def test_an_unreachable_database_is_one_clear_line_and_nothing_is_left(rie_path: str) -> None:
    before = {p.pid for p in psutil.process_iter()}
    result = run_dev(
        "--port", "0", DATABASE_URL="postgresql://nobody@127.0.0.1:9/none", QUEUEFIRST_RIE=rie_path
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "queuefirst: cannot reach PostgreSQL at postgresql://nobody@127.0.0.1:9/none "
        "(OperationalError): check DATABASE_URL"
    )
    assert [
        p
        for p in psutil.process_iter(["name"])
        if p.pid not in before and p.info["name"] in ("postgres", "aws-lambda-rie")
    ] == []


def test_an_unreachable_sqs_endpoint_is_one_clear_line(rie_path: str) -> None:
    result = run_dev("--port", "0", SQS_ENDPOINT_URL="http://127.0.0.1:9", QUEUEFIRST_RIE=rie_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "queuefirst: cannot reach SQS at http://127.0.0.1:9 (EndpointConnectionError): check SQS_ENDPOINT_URL"
    )


def test_a_data_directory_it_cannot_migrate_is_one_line_that_says_reset(rie_path: str) -> None:
    """A data directory an earlier run left with another schema (the fixture app's,
    whose revision 0001 the shop takes for its own, then fails on a table it lacks)."""
    home = Path(tempfile.mkdtemp(prefix="queuefirst-e2e-"))
    home.chmod(0o755)  # the embedded PostgreSQL runs as an unprivileged user
    try:
        left = EmbeddedPostgres(home / "postgres").start()
        try:
            upgrade(left.url, notes_application)
        finally:
            left.stop()
        result = run_dev(
            "--port", "0", QUEUEFIRST_HOME=str(home), QUEUEFIRST_RIE=rie_path, QUEUEFIRST_APPLICATION="shop"
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"queuefirst: the database in {home.resolve() / 'postgres'} cannot be migrated to shop's schema "
        '(UndefinedTable: table "order_items__purges" does not exist): '
        "start over with `queuefirst dev --reset` (`make dev ARGS=--reset`), which empties it"
    )


def test_a_missing_emulator_binary_is_one_clear_line() -> None:
    result = run_dev("--port", "0", QUEUEFIRST_RIE="/nonexistent/aws-lambda-rie")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "queuefirst: QUEUEFIRST_RIE=/nonexistent/aws-lambda-rie is not an executable file"
    )


def test_malformed_http_never_crashes_the_gateway(stack: RunningStack) -> None:
    host, port = stack.url.removeprefix("http://").split(":")
    for garbage in (
        b"\x00\x01\x02 nonsense\r\n\r\n",
        b"GET\r\n\r\n",
        b"POST /boards HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(garbage)
            sock.settimeout(5)
            try:
                reply = sock.recv(200)
            except TimeoutError:
                reply = b""
        # The server's own 4xx (an HTTP/0.9 request gets a bare error page), never a 5xx.
        assert b"Error code: 5" not in reply and not reply.startswith(b"HTTP/1.1 5")
        assert reply.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4", b"<!DOCTYPE")) or not reply
    assert stack.request("GET", "/openapi.json")[0] == 200


def test_data_is_kept_across_runs_and_reset_starts_clean(rie_path: str) -> None:
    first = start_stack(rie_path)
    try:
        first.request("POST", "/boards", {"id": "kept", "title": "Kept"})
        first.eventually(lambda: found(first, "/boards/kept"), what="board applied")
    finally:
        stop_stack(first, keep_home=True)
    again = start_stack(rie_path, home=first.home)
    try:
        assert found(again, "/boards/kept")
    finally:
        stop_stack(again, keep_home=True)
    reset = start_stack(rie_path, "--reset", home=first.home)
    try:
        assert gone(reset, "/boards/kept")
    finally:
        stop_stack(reset)


def test_invoke_runs_one_event_through_a_real_runtime(stack: RunningStack, tmp_path: Path) -> None:
    command = Command(
        command_id=uuid.uuid4(),
        entity="boards",
        op="create",
        key="invoked",
        version=1,
        payload={"title": "Invoked"},
    )
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": command.to_json()}
    message["Attributes"] = {"MessageGroupId": "invoked"}
    event = sqs_event(
        [message], arn="arn:aws:sqs:us-east-1:000000000000:notes-boards.fifo", region="us-east-1"
    )
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    result = stack.cli("invoke", "boards", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"batchItemFailures": []}
    assert found(stack, "/boards/invoked")

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**event, "Records": [{**event["Records"][0], "body": "nope"}]}))
    result = stack.cli("invoke", "worker-boards", str(bad))
    assert json.loads(result.stdout) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert stack.cli("invoke", "widgets", str(path)).returncode == 1


def test_a_stack_killed_outright_does_not_block_the_next_start(rie_path: str) -> None:
    """SIGKILL gives `queuefirst dev` no chance to stop its servers; the next
    run in the same place takes over the data directory instead of failing."""
    first = start_stack(rie_path)
    children = psutil.Process(first.process.pid).children(recursive=True)
    try:
        first.request("POST", "/boards", {"id": "survivor", "title": "Survivor"})
        first.eventually(lambda: found(first, "/boards/survivor"), what="board applied")
        first.process.kill()
        first.process.wait()
        again = start_stack(rie_path, home=first.home)
        try:
            assert found(again, "/boards/survivor")
        finally:
            stop_stack(again)
    finally:
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
