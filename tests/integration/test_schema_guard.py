"""A function never runs on a database older than its image needs: real PostgreSQL.

The worker and the api check the database's Alembic revision once, when
their connection opens at init; a database behind stops the function there,
with one log line that says what to run, before it touches a record. A
deploy's probe reads both revisions from the new version, and the
migrations function reports (or moves) the database's revision.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from notes import application as notes_app
from queuefirst.model.registry import Registry
from queuefirst.runtime.settings import WorkerSettings
from queuefirst.schema import function as migrate
from queuefirst.store.database import Database, conninfo, open_at_init
from queuefirst.store.revision import PROBE_EVENT, SchemaBehind, SchemaGuard, satisfies
from queuefirst.worker.handler import make_handler
from queuefirst.worker.root import build_worker
from tests.helpers import Context

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
HEAD = "0001"  # the notes app's only revision


def worker_settings(url: str, sqs_endpoint: str, needs: str | None) -> WorkerSettings:
    values = {"DATABASE_URL": url, "SQS_ENDPOINT_URL": sqs_endpoint, "QUEUEFIRST_ENTITY": "cards"}
    if needs is not None:
        values["QUEUEFIRST_SCHEMA_REVISION"] = needs
    return WorkerSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def empty_database(postgres_server: str) -> str:
    """A database never migrated: no alembic_version at all."""
    name = "test_never_migrated"
    with psycopg.connect(**conninfo(postgres_server), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(postgres_server).set(database=name).render_as_string(hide_password=False)


def test_revisions_compare_as_numbers() -> None:
    assert satisfies("0002", "0002") and satisfies("0010", "0009")
    assert not satisfies("0001", "0002") and not satisfies(None, "0001")
    with pytest.raises(ValueError, match="not a number"):
        satisfies("ae10f3", "0001")


@pytest.mark.parametrize("database_fixture", ["notes_url", "empty_database"])
def test_a_worker_whose_database_is_behind_stops_at_init(
    database_fixture: str,
    request: pytest.FixtureRequest,
    notes: Registry,
    sqs_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = request.getfixturevalue(database_fixture)
    root = build_worker("notes", notes["cards"], worker_settings(url, sqs_endpoint, "0002"))
    with pytest.raises(SchemaBehind) as caught:
        open_at_init(root.database, checked=True, logger=root.logger)
    expected = HEAD if database_fixture == "notes_url" else None
    assert (caught.value.needs, caught.value.has) == ("0002", expected)
    assert "notes-migrations" in str(caught.value) and "--migrate" in str(caught.value)
    # Powertools prints JSON to stdout, or hands the record to pytest's capture once it took over.
    printed = [json.loads(x) for x in capsys.readouterr().out.splitlines() if "schema behind" in x]
    captured = [vars(r) | {"level": r.levelname} for r in caplog.records if "schema behind" in r.getMessage()]
    (line,) = printed or captured
    assert line["level"] == "ERROR" and line["needs"] == "0002" and line["database"] == expected


def test_a_worker_at_its_revision_answers_a_probe(notes: Registry, notes_url: str, sqs_endpoint: str) -> None:
    root = build_worker("notes", notes["cards"], worker_settings(notes_url, sqs_endpoint, HEAD))
    open_at_init(root.database, checked=True)
    answer = make_handler(root)(PROBE_EVENT, Context())
    assert answer == {"schema": {"needs": HEAD, "database": HEAD, "ok": True, "version": "$LATEST"}}
    root.database.close()


def test_a_guard_that_first_meets_the_database_in_an_invocation_fails_it_whole(
    notes: Registry, notes_url: str, sqs_endpoint: str
) -> None:
    """Unreachable at init (not an init error), behind once reachable: the invocation
    fails as one, not record by record."""
    root = build_worker("notes", notes["cards"], worker_settings(notes_url, sqs_endpoint, "0002"))
    unreachable = Database("postgresql://nobody@127.0.0.1:1/none", connect_timeout=1)
    open_at_init(unreachable, checked=True, logger=root.logger)  # only a warning
    body = json.dumps({"command_id": "00000000-0000-0000-0000-000000000001"})
    event = {"Records": [{"messageId": "m1", "body": body, "attributes": {"MessageGroupId": "x"}}]}
    with pytest.raises(SchemaBehind):
        make_handler(root)(event, Context())


def test_the_guard_runs_once_per_connection() -> None:
    calls: list[str] = []

    class Counting:
        def execute(self, query: Any, params: Any = None) -> Any:
            calls.append(str(query))
            return self

        def fetchone(self) -> tuple[str]:
            return (HEAD,)

    guard = SchemaGuard(HEAD, "notes-migrations")
    guard(Counting())
    assert calls == ["SELECT version_num FROM alembic_version"]
    calls.clear()
    SchemaGuard(None, "notes-migrations")(Counting())
    assert calls == []  # no revision baked in: nothing to ask


def _import_worker(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The worker's composition root as Lambda runs its init: a fresh interpreter."""
    code = (
        "import sys, queuefirst.functions.worker; print('xray' if 'aws_xray_sdk' in sys.modules else 'none')"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "apps"), str(ROOT / "src")])}
        | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_composition_root_fails_init_on_a_database_behind_and_traces_only_when_asked(
    notes_url: str, sqs_endpoint: str
) -> None:
    base = {
        "QUEUEFIRST_APPLICATION": "notes",
        "QUEUEFIRST_ENTITY": "cards",
        "DATABASE_URL": notes_url,
        "SQS_ENDPOINT_URL": sqs_endpoint,
    }
    behind = _import_worker(base | {"QUEUEFIRST_SCHEMA_REVISION": "0002"})
    assert behind.returncode != 0
    assert "SchemaBehind" in behind.stderr and "database schema behind this image" in behind.stdout
    current = _import_worker(base | {"QUEUEFIRST_SCHEMA_REVISION": HEAD})
    assert current.returncode == 0, current.stderr
    # Tracing off (the default off AWS): the X-Ray SDK is never imported.
    assert current.stdout.strip().splitlines()[-1] == "none"
    # On where the infra turns it on (QUEUEFIRST_TRACING, with X-Ray active on the function).
    traced = _import_worker(base | {"QUEUEFIRST_SCHEMA_REVISION": HEAD, "QUEUEFIRST_TRACING": "true"})
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout.strip().splitlines()[-1] == "xray"


def test_the_migrations_function_reports_and_moves_the_revision(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database)
    monkeypatch.setenv("QUEUEFIRST_APPLICATION", "notes")
    monkeypatch.delenv("QUEUEFIRST_DB_SECRET_ARN", raising=False)
    monkeypatch.delenv("QUEUEFIRST_DB_USERS", raising=False)
    assert migrate.handler({"action": "status"}, None) == {"revision": None, "head": HEAD}
    assert migrate.handler({"action": "status"}, None)["revision"] is None  # status changes nothing
    moved = migrate.handler({}, None)  # as the deploy trigger and `deploy --migrate` invoke it
    assert (moved["revision"], moved["head"]) == (HEAD, HEAD)
    assert notes_app.migrations_dir.is_dir()


def test_under_the_real_runtime_a_version_behind_answers_the_probe_with_an_init_error(
    rie_path: str, tmp_path: Path, notes_url: str, sqs_endpoint: str
) -> None:
    """What `queuefirst deploy`'s probe and the CDK trigger see: AWS's runtime emulator and
    `python -m awslambdaric`, as in the images, report the init error with its type."""
    from queuefirst.local import FunctionSpec, ProcessLauncher, RuntimePool

    def probe(needs: str) -> Any:
        env = {
            "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "apps"), str(ROOT / "src")]),
            "QUEUEFIRST_APPLICATION": "notes",
            "QUEUEFIRST_ENTITY": "cards",
            "DATABASE_URL": notes_url,
            "SQS_ENDPOINT_URL": sqs_endpoint,
            "QUEUEFIRST_SCHEMA_REVISION": needs,
        }
        spec = FunctionSpec("notes-cards-worker", "queuefirst.functions.worker.handler", env, 30, 256, 1)
        pool = RuntimePool(spec, ProcessLauncher(Path(rie_path)), tmp_path / needs).start()
        try:
            return pool.invoke(dict(PROBE_EVENT))
        finally:
            pool.stop()

    behind = probe("0002")
    assert not behind.ok and (behind.error or "").startswith(
        "SchemaBehind: the database schema is at revision 0001"
    )
    current = probe(HEAD)
    assert current.ok and current.payload["schema"] == {
        "needs": HEAD,
        "database": HEAD,
        "ok": True,
        "version": "$LATEST",
    }


def test_the_api_answers_the_probe_and_refuses_a_database_behind(
    notes: Registry, notes_url: str, sqs_endpoint: str
) -> None:
    from queuefirst.api.root import build_api
    from queuefirst.runtime.settings import ApiSettings

    def settings(needs: str) -> ApiSettings:
        return ApiSettings(
            DATABASE_URL=notes_url, SQS_ENDPOINT_URL=sqs_endpoint, QUEUEFIRST_SCHEMA_REVISION=needs
        )  # type: ignore[call-arg]

    api = build_api(notes, settings(HEAD), open_now=True)
    assert api(PROBE_EVENT, Context())["schema"] == {
        "needs": HEAD,
        "database": HEAD,
        "ok": True,
        "version": "$LATEST",
    }  # type: ignore[arg-type]
    with pytest.raises(SchemaBehind):
        build_api(notes, settings("0002"), open_now=True)
