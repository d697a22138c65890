"""Runtime pools: real `aws-lambda-rie` wrapping real `python -m awslambdaric`."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from queuefirst.local import FunctionSpec, Invocation, ProcessLauncher, RuntimePool, free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pool(rie_path: str, tmp_path: Path) -> Iterator[RuntimePool]:
    spec = FunctionSpec(
        "test-fn",
        "tests.fixtures.handlers.handler",
        {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])},
        timeout_seconds=2,
        memory_mb=128,
        concurrency=2,
    )
    running = RuntimePool(spec, ProcessLauncher(Path(rie_path)), tmp_path).start()
    yield running
    running.stop()


def test_a_pool_of_two_serves_two_invocations_at_once(pool: RuntimePool) -> None:
    results = []
    threads = [threading.Thread(target=lambda: results.append(pool.invoke({"sleep": 0.5}))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.ok for r in results)
    assert len({r.payload["pid"] for r in results}) == 2  # two runtimes, one invocation each


def test_a_handler_error_fails_the_invocation_like_lambda(pool: RuntimePool) -> None:
    result = pool.invoke({"raise": "nope"})
    assert not result.ok and result.error == "ValueError: nope"
    assert pool.invoke({"echo": 1}).payload["echo"] == 1


def test_a_timeout_fails_the_invocation_and_the_next_one_runs(pool: RuntimePool) -> None:
    result = pool.invoke({"sleep": 5})
    assert not result.ok and "timed out" in (result.error or "")
    assert 1900 < result.duration_ms < 4500
    assert all(pool.invoke({"echo": n}).ok for n in range(3))


def test_a_crashed_runtime_fails_its_invocation_and_is_replaced(pool: RuntimePool) -> None:
    result = pool.invoke({"crash": True})
    assert not result.ok
    assert all(pool.invoke({"echo": n}).ok for n in range(4))


def test_a_dead_emulator_is_replaced_before_it_is_handed_an_event(pool: RuntimePool) -> None:
    first = pool.instances[0]
    assert first.process is not None
    first.process.kill()
    first.process.wait()
    results = [pool.invoke({"echo": n}) for n in range(4)]
    assert pool.replaced == 1
    assert all(r.ok for r in results)  # as Lambda, no event goes to an environment that is gone
    assert all(i.alive() for i in pool.instances)


def test_a_runtime_killed_while_idle_costs_no_delivery(pool: RuntimePool) -> None:
    """RIE would fail the next event for a runtime that died between invocations;
    Lambda would never hand it one: the pool starts a fresh instance instead."""
    for n in range(2):
        assert pool.invoke({"echo": n}).ok  # both instances have served: runtimes started
    for instance in pool.instances:
        assert instance.pid is not None
        for child in psutil.Process(instance.pid).children():
            child.kill()
            child.wait()
    results = [pool.invoke({"echo": n}) for n in range(4)]
    assert all(r.ok for r in results), [r.error for r in results]
    assert pool.replaced == 2


def test_an_emulator_that_refuses_the_connection_costs_no_delivery(pool: RuntimePool) -> None:
    """Alive as a process but not listening (its port taken back): the request never
    reached a runtime, so a fresh instance takes it and the invocation succeeds."""
    stuck = pool.instances[0]
    assert stuck.process is not None
    stuck.process.send_signal(signal.SIGSTOP)  # alive, but answers nothing...
    stuck.port = free_port()  # ...and, as far as the pool can tell, refuses connections
    try:
        results = [pool.invoke({"echo": n}) for n in range(4)]
    finally:
        stuck.process.send_signal(signal.SIGCONT)
    assert all(r.ok for r in results)
    assert pool.replaced == 1


def test_a_busy_pool_grows_to_its_limit_and_no_further(rie_path: str, tmp_path: Path) -> None:
    spec = FunctionSpec(
        "grow-fn",
        "tests.fixtures.handlers.handler",
        {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])},
        timeout_seconds=5,
        memory_mb=128,
        concurrency=1,
        limit=3,
    )
    grown: list[int] = []
    pool = RuntimePool(
        spec, ProcessLauncher(Path(rie_path)), tmp_path, on_grow=lambda p: grown.append(p.size)
    )
    pool.start()
    try:
        results = []
        threads = [
            threading.Thread(target=lambda: results.append(pool.invoke({"sleep": 1.0}))) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(r.ok for r in results)
        assert pool.size == 3 and grown == [2, 3]  # as Lambda adds environments, up to the limit
        assert len({r.payload["pid"] for r in results}) == 3  # the fourth waited for one of them
    finally:
        pool.stop()


def test_a_runtime_killed_during_init_fails_its_invocation(rie_path: str, tmp_path: Path) -> None:
    """RIE answers 502 with an empty body then: a failure, never an empty ("all
    succeeded") response, which would let a poller delete a batch never applied."""
    spec = FunctionSpec(
        "slow-init-fn",
        "tests.fixtures.slow_init.handler",
        {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])},
        timeout_seconds=5,
        memory_mb=128,
        concurrency=1,
    )
    pool = RuntimePool(spec, ProcessLauncher(Path(rie_path)), tmp_path).start()
    try:
        results: list[Invocation] = []
        invoking = threading.Thread(target=lambda: results.append(pool.invoke({})))
        invoking.start()
        emulator = psutil.Process(pool.instances[0].pid)
        deadline = time.monotonic() + 10
        while not (runtimes := [c for c in emulator.children() if "awslambdaric" in c.cmdline()]):
            assert time.monotonic() < deadline, "the runtime never started"
            time.sleep(0.02)
        runtimes[0].kill()  # still importing its handler: a second to go
        invoking.join()
        assert not results[0].ok and results[0].payload is None
        assert results[0].error is not None and results[0].error.startswith("HTTP 502")
        assert pool.invoke({}).ok  # the emulator starts a fresh runtime for the next one
    finally:
        pool.stop()
