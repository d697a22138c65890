"""`queuefirst migrations`: generate, check and apply the application's schema migrations.

The schema is generated from the registry (`queuefirst.store.schema`), so a
migration is never written by hand: `new` diffs a throwaway PostgreSQL at the
current head against the registry with Alembic's autogenerate and writes the
difference as the next revision, to review and commit; `check` fails when the
entity modules and the committed revisions disagree, or when a revision would
break the images of the revision before it (`queuefirst.ops.expand_contract`).

Expand, then contract: `new` never drops a table or column that the images
of the current head still use. It leaves the drop out and the column out of
the new revision's live columns (the column is *retired*); the next revision
drops it. `check` accepts a retired column still in the database.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import ops as alembic_ops
from alembic.operations.ops import MigrationScript

from queuefirst.local.postgres import EmbeddedPostgres
from queuefirst.model.application import Application, load_application
from queuefirst.ops import bakefile, expand_contract
from queuefirst.ops.endpoints import find_endpoints
from queuefirst.ops.revisions import Live, load_revisions
from queuefirst.store.engine import make_engine
from queuefirst.store.migrate import alembic_config, upgrade
from queuefirst.store.schema import build_schema

_REVISION = re.compile(r"^(\d{4})_")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("migrations", help="generate, check and apply schema migrations")
    commands = parser.add_subparsers(title="migrations commands", required=True)
    new = commands.add_parser("new", help="write the next revision from the entity modules")
    new.add_argument("message", help='what changed, e.g. "invoices"')
    new.set_defaults(run=run_new)
    check = commands.add_parser("check", help="exit 1 when the revisions lag the entity modules")
    check.set_defaults(run=run_check)
    up = commands.add_parser("upgrade", help="migrate DATABASE_URL (or the running dev stack) to head")
    up.set_defaults(run=run_upgrade)


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A throwaway embedded PostgreSQL: generating a revision never touches a real database."""
    data_dir = Path(tempfile.mkdtemp(prefix="queuefirst-migrations-"))
    data_dir.chmod(0o755)  # the server may run as an unprivileged user
    server = EmbeddedPostgres(data_dir).start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def next_revision(app: Application) -> tuple[str, str | None]:
    """The next four-digit revision id, and the current head's (None for the first)."""
    numbers = sorted(
        int(match.group(1))
        for path in app.migrations_dir.glob("*.py")
        if (match := _REVISION.match(path.name))
    )
    head = f"{numbers[-1]:04d}" if numbers else None
    return f"{(numbers[-1] + 1) if numbers else 1:04d}", head


def write_revision(app: Application, message: str, database_url: str) -> Path | None:
    """Autogenerate the next revision against a database at head; None when nothing changed."""
    app.migrations_dir.mkdir(parents=True, exist_ok=True)
    upgrade(database_url, app)
    config = alembic_config(database_url, app)
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    _format_with_ruff(config)
    written: list[Path] = []

    revisions = load_revisions(app.migrations_dir)
    head_live: Live = revisions[-1].live if revisions else {}
    wanted = {
        t.name: frozenset(c.name for c in t.columns)
        for t in build_schema(app.registry()).metadata.sorted_tables
    }

    def expand_first(context: Any, revision: Any, directives: list[MigrationScript]) -> None:
        script = directives[0]
        upgrade_ops = script.upgrade_ops
        if upgrade_ops is None:
            return
        upgrade_ops.ops = defer_drops(upgrade_ops.ops, head_live)
        script.downgrade_ops = upgrade_ops.reverse()
        if upgrade_ops.is_empty() and wanted == head_live:
            directives.clear()  # nothing changed, not even what the images use

    config.attributes["process_revision_directives"] = expand_first
    rev_id, _ = next_revision(app)
    script = command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
    for item in script if isinstance(script, list) else [script]:
        if item is not None:
            written.append(Path(item.path))
    return written[0] if written else None


def defer_drops(operations: list[Any], live: Live) -> list[Any]:
    """The autogenerated operations less the drops of what the live images use."""
    kept_tables = {
        op.table_name
        for op in operations
        if isinstance(op, alembic_ops.DropTableOp) and op.table_name in live
    }
    result: list[Any] = []
    for operation in operations:
        dropping = isinstance(operation, alembic_ops.DropTableOp | alembic_ops.DropIndexOp)
        if dropping and operation.table_name in kept_tables:
            continue
        if isinstance(operation, alembic_ops.ModifyTableOps):
            operation.ops = [
                inner
                for inner in operation.ops
                if not (
                    isinstance(inner, alembic_ops.DropColumnOp)
                    and inner.column_name in live.get(operation.table_name, ())
                )
            ]
            if not operation.ops:
                continue
        result.append(operation)
    return result


def pending_contracts(diffs: list[Any], live: Live) -> tuple[list[str], list[Any]]:
    """Split autogenerate's diffs into retired columns and tables still in the database, and the rest."""
    pending: list[str] = []
    rest: list[Any] = []
    for diff in diffs:
        kind = diff[0] if isinstance(diff, tuple) else None
        if kind == "remove_column" and diff[3].name not in live.get(diff[2], ()):
            pending.append(f"{diff[2]}.{diff[3].name}")
        elif kind == "remove_table" and diff[1].name not in live:
            pending.append(diff[1].name)
        elif kind == "remove_index" and diff[1].table is not None and diff[1].table.name not in live:
            continue
        else:
            rest.append(diff)
    return pending, rest


def _format_with_ruff(config: Any) -> None:
    """Format the written revision as the rest of the code, when ruff is at hand."""
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        return
    config.set_section_option("post_write_hooks", "hooks", "ruff")
    config.set_section_option("post_write_hooks", "ruff.type", "exec")
    config.set_section_option("post_write_hooks", "ruff.executable", ruff)
    config.set_section_option("post_write_hooks", "ruff.options", "format REVISION_SCRIPT_FILENAME")


def run_new(args: argparse.Namespace) -> int:
    app = load_application()
    with scratch_database() as url:
        path = write_revision(app, args.message, url)
    if path is None:
        print("no schema changes: the revisions already match the entity modules")
    else:
        print(f"wrote {path}: review it, then commit it")
    root = Path.cwd()
    in_this_project = app.package_dir == (root / "src" / app.package).resolve()
    if in_this_project and (root / "docker-bake.hcl").is_file() and bakefile.sync(root, app):
        print(f"updated {bakefile.FILE_NAME}: the image targets follow the entity modules")
    return 0


def schema_diffs(url: str, app: Application) -> list[Any]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            diffs: list[Any] = compare_metadata(
                MigrationContext.configure(conn), build_schema(app.registry()).metadata
            )
            return diffs
    finally:
        engine.dispose()


def check_app(app: Application, url: str) -> list[str]:
    """Every problem `queuefirst migrations check` reports, on a database migrated to head at `url`."""
    revisions = load_revisions(app.migrations_dir)
    problems = expand_contract.check(revisions, app.schema_baseline)
    upgrade(url, app)
    pending, rest = pending_contracts(schema_diffs(url, app), revisions[-1].live if revisions else {})
    if rest:
        problems.append(f"the revisions lag the entity modules: {rest}; run `queuefirst migrations new`")
    if pending:
        print(f"retired, to drop in a later revision: {', '.join(sorted(pending))}")
    return problems


def run_check(args: argparse.Namespace) -> int:
    app = load_application()
    with scratch_database() as url:
        problems = check_app(app, url)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print("ok: the revisions match the entity modules and keep every live image working")
    return 0


def run_upgrade(args: argparse.Namespace) -> int:
    url = find_endpoints().database_url
    if not url:
        raise ValueError("no database: set DATABASE_URL or start `queuefirst dev`")
    upgrade(url, load_application())
    print("migrated to head")
    return 0
