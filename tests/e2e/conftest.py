"""`queuefirst dev` started as a subprocess, as a user starts it, and driven over HTTP.

Requests carry the token their route needs, as a client would: an end user's
for the routes of end users (`as_user`, the token's sub), an operator's for
the operators' routes, none for public ones; tokens come from the stack's own
local issuer (its keys in QUEUEFIRST_HOME), as `queuefirst token` makes them.
"""

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from queuefirst.local import LocalIssuer, RouteTable, free_port
from queuefirst.model.application import load_application
from queuefirst.model.http_routes import api_routes
from queuefirst.model.principal import USERS

STARTUP_SECONDS = 120
APPS = Path(__file__).resolve().parents[1] / "apps"
USER = "e2e-user"
OPERATOR = "e2e-operator"
# `token=ROUTE_TOKEN`: whatever the route's authorizer asks for.
ROUTE_TOKEN = "<the route's>"


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    home: Path
    url: str
    log_path: Path
    app: str = "notes"
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _routes: RouteTable | None = field(default=None, repr=False)

    @property
    def state(self) -> dict[str, Any]:
        return json.loads((self.home / "dev.json").read_text())

    def log(self) -> str:
        return self.log_path.read_text()

    def token(self, kind: str, subject: str) -> str:
        if (kind, subject) not in self._tokens:
            issuer = LocalIssuer(self.home, load_application(self.app).name)
            self._tokens[kind, subject] = issuer.mint(kind, subject)
        return self._tokens[kind, subject]

    def route_token(self, method: str, path: str, user: str) -> str | None:
        """The token the route asks for: `user`'s, an operator's, or none."""
        if self._routes is None:
            self._routes = RouteTable(api_routes(load_application(self.app).registry()))
        match = self._routes.match(method, path.split("?", 1)[0])
        kind = match.route.authorizer if match else USERS
        if kind is None:
            return None
        return self.token(kind, user if kind == USERS else OPERATOR)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        as_user: str = USER,
        token: str | None = ROUTE_TOKEN,
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"content-type": "application/json"} if data else {}
        bearer = self.route_token(method, path, as_user) if token == ROUTE_TOKEN else token
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
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
