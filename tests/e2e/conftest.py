"""`queuefirst dev` started as a subprocess, as a user starts it, and driven over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from queuefirst.local.ports import free_port

STARTUP_SECONDS = 120
APPS = Path(__file__).resolve().parents[1] / "apps"


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    home: Path
    url: str
    log_path: Path
    app: str = "notes"

    @property
    def state(self) -> dict[str, Any]:
        return json.loads((self.home / "dev.json").read_text())

    def log(self) -> str:
        return self.log_path.read_text()

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"content-type": "application/json"} if data else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def eventually(self, check: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        # The stack's own lines, without the test's polling GETs.
        lines = [line for line in self.log().splitlines() if " GET " not in line]
        tail = "\n".join(lines[-60:])
        dead = self.cli("dlq", "ls").stdout
        raise AssertionError(
            f"{what} not reached in {timeout}s; dead letters:\n{dead}\nqueues: {self.queue_depths()}\n"
            f"stack log:\n{tail}"
        )

    def queue_depths(self) -> dict[str, tuple[str, str]]:
        """Each queue's (visible, in flight) messages, as SQS approximates them."""
        import boto3

        state = self.state
        client = boto3.client(
            "sqs",
            endpoint_url=state["sqs_endpoint_url"],
            region_name=state["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        depths = {}
        for url in client.list_queues().get("QueueUrls", []):
            attributes = client.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depths[url.rsplit("/", 1)[-1]] = (
                attributes["ApproximateNumberOfMessages"],
                attributes["ApproximateNumberOfMessagesNotVisible"],
            )
        return depths

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "queuefirst.ops.cli", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **app_environment(self.app), "QUEUEFIRST_HOME": str(self.home)},
            timeout=120,
        )


def app_environment(app: str) -> dict[str, str]:
    """Run `app` (the kit's fixture `notes`, or the `shop`): its package importable everywhere."""
    paths = [str(APPS), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"QUEUEFIRST_APPLICATION": app, "PYTHONPATH": os.pathsep.join(paths)}


def start_stack(
    rie: str, *flags: str, home: Path | None = None, app: str = "notes", **extra_env: str
) -> RunningStack:
    # Straight under /tmp: the embedded PostgreSQL runs as an unprivileged user.
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="queuefirst-e2e-"))
        home.chmod(0o755)
    port = free_port()
    log_path = home / "stack.log"
    env = {
        **os.environ,
        **app_environment(app),
        "QUEUEFIRST_HOME": str(home),
        "QUEUEFIRST_RIE": rie,
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    for variable in ("DATABASE_URL", "SQS_ENDPOINT_URL"):
        if variable not in extra_env:
            env.pop(variable, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "queuefirst.ops.cli", "dev", "--port", str(port), "--no-table", *flags],
        stdout=open(log_path, "w"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    stack = RunningStack(process, home, f"http://127.0.0.1:{port}", log_path, app)
    deadline = time.monotonic() + STARTUP_SECONDS
    while "is up" not in stack.log():
        if process.poll() is not None or time.monotonic() > deadline:
            log = stack.log()
            stop_stack(stack)
            raise AssertionError(f"queuefirst dev did not start:\n{log}")
        time.sleep(0.2)
    return stack


def stop_stack(stack: RunningStack, *, keep_home: bool = False) -> int:
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            stack.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()
    if not keep_home:
        shutil.rmtree(stack.home, ignore_errors=True)
    return stack.process.returncode


@pytest.fixture(scope="module")
def stack(rie_path: str) -> Iterator[RunningStack]:
    """The kit's fixture application; a short visibility timeout so retries and dead letters take seconds."""
    running = start_stack(rie_path, "--visibility-timeout", "2")
    yield running
    stop_stack(running)


@pytest.fixture(scope="module")
def shop_stack(rie_path: str) -> Iterator[RunningStack]:
    """The example application, as the README's walkthrough runs it."""
    running = start_stack(rie_path, "--visibility-timeout", "2", app="shop")
    yield running
    stop_stack(running)
