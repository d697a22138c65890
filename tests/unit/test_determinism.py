"""Workers are deterministic: no code on the worker's effect path reads the clock
or mints an id. Telemetry (latency, message age) lives apart, in
`queuefirst.runtime.telemetry`, and nothing it computes feeds a write."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from shop import application as shop

# Everything that decides what a worker writes or sends.
EFFECT_PATH = [
    "queuefirst.model.command",
    "queuefirst.model.payloads",
    "queuefirst.model.entity",
    "queuefirst.store.schema",
    "queuefirst.store.writer",
    "queuefirst.worker.decode",
    "queuefirst.worker.batch",
    *(f"shop.entities.{name}" for name in shop.entity_names()),
]
FORBIDDEN_MODULES = {"time", "datetime", "random", "secrets", "uuid_utils", "queuefirst.api.versioning"}
FORBIDDEN_CALLS = {
    "uuid1",
    "uuid4",
    "uuid6",
    "uuid7",
    "urandom",
    "now",
    "utcnow",
    "today",
    "time",
    "time_ns",
    "monotonic",
    "perf_counter",
    "new_id",
    "getrandbits",
    "token_hex",
}


def nondeterminism(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                f"import {a.name}"
                for a in node.names
                if a.name.split(".")[0] in FORBIDDEN_MODULES or a.name in FORBIDDEN_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES or node.module in FORBIDDEN_MODULES:
                found.append(f"from {node.module} import ...")
            found += [f"from {node.module} import {a.name}" for a in node.names if a.name in FORBIDDEN_CALLS]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            # sqlalchemy's func.now() is the database's clock in a column
            # default, for operators; never read back into a decision.
            sql_function = isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "func"
            if name in FORBIDDEN_CALLS and not sql_function:
                found.append(f"call {name}()")
    return found


@pytest.mark.parametrize("module", EFFECT_PATH)
def test_worker_effect_path_reads_no_clock_and_mints_no_id(module: str) -> None:
    source = Path(inspect.getfile(importlib.import_module(module))).read_text()
    assert nondeterminism(source) == []


@pytest.mark.parametrize(
    "snippet",
    [
        "import time\n",
        "from datetime import datetime\n",
        "x = uuid.uuid4()\n",
        "import random\n",
        "from queuefirst.api.versioning import new_id\n",
        "key = str(new_id())\n",
        "t = datetime.now()\n",
    ],
)
def test_the_check_catches_clock_reads_and_id_minting(snippet: str) -> None:
    assert nondeterminism(snippet)


def test_uuid5_derivation_is_allowed() -> None:
    assert nondeterminism("import uuid\nx = uuid.uuid5(uuid.NAMESPACE_URL, 'a')\n") == []
