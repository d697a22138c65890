"""Fixtures for the infra tests.

AWS itself can't run here: the CDK app is synthesized into CloudFormation
templates (never deployed) and checked as templates, and the rollout
command runs against moto's server standing in for the Lambda and
CloudWatch APIs.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from queuefirst.model.registry import Registry
from tests.infra.infra_helpers import Synthesized, images_for, synthesize


@pytest.fixture(scope="session")
def registry(shop: Registry) -> Registry:
    """The infra tests read the example application's stacks (the kit's fixture app synthesizes too)."""
    return shop


@pytest.fixture(scope="session")
def synthesized(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The whole app, synthesized once per session."""
    return synthesize(registry, tmp_path_factory.mktemp("cdk.out"), {"images": images_for(registry)})


# -- moto ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server mode in a subprocess: the AWS APIs the deploy command calls.

    moto cannot run an image function, so its Lambda runs in "simple" mode: an
    invocation answers with the next payload a test queued (`/moto-api/static/
    lambda-simple/response`), or echoes its event when none is queued.
    """
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.1)
    endpoint = f"http://127.0.0.1:{port}"
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config",
        data=json.dumps({"lambda": {"use_docker": False}}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()
    try:
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_endpoint
