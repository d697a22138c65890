"""`.queuefirst/dev.json`, which the stack rewrites while it runs and the commands read."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from queuefirst.local import DevState, FunctionState
from queuefirst.ops.endpoints import find_endpoints


def state(size: int) -> DevState:
    return DevState(
        pid=os.getpid(),
        gateway_url="http://127.0.0.1:3000",
        database_url="postgresql://u:secret@127.0.0.1:5/db",
        sqs_endpoint_url="http://127.0.0.1:6",
        region="eu-west-3",
        functions={
            f"shop-f{i}-worker": FunctionState(pids=list(range(40)), concurrency=size) for i in range(size)
        },
    )


def test_a_reader_never_sees_dev_json_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two writers rewrite the file (as the stack does each time a pool grows) while
    `queuefirst dlq`'s lookup (find_endpoints) reads it: every read is a whole state."""
    for variable in ("DATABASE_URL", "SQS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("QUEUEFIRST_HOME", str(tmp_path))
    state(1).write(tmp_path)
    stop = threading.Event()

    def rewrite(size: int) -> None:
        while not stop.is_set():
            state(size).write(tmp_path)

    writers = [threading.Thread(target=rewrite, args=(size,)) for size in (150, 200)]
    for writer in writers:
        writer.start()
    reads = 0
    try:
        deadline = time.monotonic() + 5
        while reads < 500 and time.monotonic() < deadline:
            found = find_endpoints()
            assert (found.sqs_endpoint_url, found.region, found.local) == (
                "http://127.0.0.1:6",
                "eu-west-3",
                True,
            )
            reads += 1
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert reads >= 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.json"]  # no temporary file left
    assert (tmp_path / "dev.json").stat().st_mode & 0o777 == 0o600  # it may hold a password


def test_no_state_file_is_no_stack(tmp_path: Path) -> None:
    assert DevState.read(tmp_path) is None
    state(1).write(tmp_path)
    DevState.remove(tmp_path)
    assert DevState.read(tmp_path) is None
