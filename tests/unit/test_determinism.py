"""Workers are deterministic: no code on the worker's effect path reads the clock
or mints an id, and neither does any decide function or hook of any entity of
any application here. Telemetry (latency, message age) lives apart, in
`queuefirst.runtime.telemetry`, and nothing it computes feeds a write."""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from pathlib import Path

import pytest

from notes import application as notes
from queuefirst.model.actions import Decision, Empty, Row, accept
from queuefirst.model.application import Application
from queuefirst.model.entity import Entity
from shop import application as shop

APPLICATIONS: list[Application] = [shop, notes]
# Everything that decides what a worker writes or sends.
EFFECT_PATH = [
    "queuefirst.model.actions",
    "queuefirst.model.chains",
    "queuefirst.model.command",
    "queuefirst.model.decider",
    "queuefirst.model.declarations",
    "queuefirst.model.entity",
    "queuefirst.model.preconditions",
    "queuefirst.model.trail",
    "queuefirst.model.payloads",
    "queuefirst.model.working",
    "queuefirst.store.entity_store",
    "queuefirst.store.statements",
    "queuefirst.worker.decode",
    "queuefirst.worker.batch",
    *(f"{app.entities_package}.{name}" for app in APPLICATIONS for name in app.entity_names()),
    *(f"{app.entities_package}.{name}.rules" for app in APPLICATIONS for name in app.entity_names()),
]
DECIDERS = [
    (f"{app.name}.{entity.name}.{name}", bound.function)
    for app in APPLICATIONS
    for entity in app.registry(rules=True).values()
    for name, bound in entity.rules.items()
]
FORBIDDEN_MODULES = {"time", "random", "secrets", "uuid_utils", "queuefirst.api.versioning"}
# datetime's value types annotate fields (a due date); reading the clock through
# them (now, today, utcnow) is a forbidden call.
DATETIME_TYPES = {"date", "datetime", "time", "timedelta", "timezone", "UTC"}
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
        elif isinstance(node, ast.ImportFrom) and node.module == "datetime":
            found += [f"from datetime import {a.name}" for a in node.names if a.name not in DATETIME_TYPES]
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


@pytest.mark.parametrize(("name", "decide"), DECIDERS, ids=[name for name, _ in DECIDERS])
def test_every_decide_function_and_hook_reads_no_clock_and_mints_no_id(name: str, decide: object) -> None:
    assert nondeterminism(textwrap.dedent(inspect.getsource(decide))) == [], name  # type: ignore[arg-type]


def test_the_check_catches_a_decide_function_that_reads_the_clock() -> None:
    import datetime

    class Stamp(Empty):
        pass

    things = Entity(name="things", fields=Stamp)
    things.action("stamp")

    @things.rule
    def stamp(row: Row[Stamp], given: Empty) -> Decision:
        return accept(at=datetime.datetime.now(tz=datetime.UTC).isoformat())

    source = inspect.getsource(things.rules["stamp"].function)
    assert nondeterminism(textwrap.dedent(source)) == ["call now()"]


@pytest.mark.parametrize(
    "snippet",
    [
        "import time\n",
        "from time import time\n",
        "from datetime import datetime\nt = datetime.now()\n",
        "from datetime import date\nd = date.today()\n",
        "import datetime\nt = datetime.datetime.utcnow()\n",
        "x = uuid.uuid4()\n",
        "import random\n",
        "from queuefirst.api.versioning import new_id\n",
        "key = str(new_id())\n",
        "t = datetime.now()\n",
    ],
)
def test_the_check_catches_clock_reads_and_id_minting(snippet: str) -> None:
    assert nondeterminism(snippet)


def test_the_check_lets_datetime_types_annotate_fields() -> None:
    assert nondeterminism("from datetime import date, datetime\ndue: date | None = None\n") == []


def test_uuid5_derivation_is_allowed() -> None:
    assert nondeterminism("import uuid\nx = uuid.uuid5(uuid.NAMESPACE_URL, 'a')\n") == []
