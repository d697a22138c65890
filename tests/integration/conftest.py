"""The gateway's fixtures: a pool of real runtimes running an echo function, behind the gateway."""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from queuefirst.local import (
    FunctionSpec,
    Gateway,
    GatewayServer,
    Invocation,
    Invoke,
    ProcessLauncher,
    RuntimePool,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def echo_pool(rie_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimePool]:
    spec = FunctionSpec(
        "echo-api",
        "tests.fixtures.echo.handler",
        {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])},
        timeout_seconds=5,
        memory_mb=128,
        concurrency=2,
    )
    pool = RuntimePool(spec, ProcessLauncher(Path(rie_path)), tmp_path_factory.mktemp("echo")).start()
    yield pool
    pool.stop()


def pool_invoke(pool: RuntimePool) -> Invoke:
    def invoke(event: dict[str, Any], wait: float) -> Invocation:
        try:
            return pool.invoke(event, wait=wait)
        except queue.Empty:
            raise TimeoutError from None

    return invoke


def start_gateway(pool: RuntimePool, **options: Any) -> GatewayServer:
    gateway = Gateway(pool_invoke(pool), pool.spec.concurrency, **options)
    return GatewayServer(gateway, "127.0.0.1", 0).start()


@pytest.fixture(scope="module")
def gateway(echo_pool: RuntimePool) -> Iterator[GatewayServer]:
    server = start_gateway(echo_pool, body_timeout=1.0)
    yield server
    server.stop()
