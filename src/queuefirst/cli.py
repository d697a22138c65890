"""The `queuefirst` command: dev, graph, dlq, invoke (and plan, deploy)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from queuefirst.local.settings import DevSettings, load_registry
from queuefirst.registry import Registry, RegistryError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        code: int = args.run(args)
        return code
    except (RegistryError, ValueError, RuntimeError, OSError, BotoCoreError, ClientError) as error:
        # AWS and local faults alike: one line that says what, no traceback.
        print(f"queuefirst: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="queuefirst", description=__doc__)
    commands = parser.add_subparsers(title="commands")

    dev = commands.add_parser("dev", help="run the whole system locally")
    dev.add_argument("--reset", action="store_true", help="start with an empty embedded database")
    dev.add_argument("--port", type=int, help="gateway port (default 3000, QUEUEFIRST_PORT)")
    dev.add_argument("--concurrency", help="local pool sizes, e.g. orders=3,api=2")
    dev.add_argument("--visibility-timeout", type=int, help="seconds, for every queue (local only)")
    dev.add_argument("--images", action="store_true", help="run the built images instead of processes")
    dev.add_argument("--no-table", action="store_true", help="log lines only, no live table")
    dev.set_defaults(run=_dev)

    graph = commands.add_parser("graph", help="the entity hierarchy")
    graph.add_argument("--mermaid", action="store_true", help="as a mermaid flowchart")
    graph.add_argument("--check", action="store_true", help="exit non-zero on a bad registry")
    graph.set_defaults(run=_graph)

    dlq = commands.add_parser("dlq", help="dead letters: ls, show, redrive")
    dlq_commands = dlq.add_subparsers(title="dlq commands", required=True)
    ls = dlq_commands.add_parser("ls", help="dead letters per entity")
    ls.set_defaults(run=_dlq_ls)
    show = dlq_commands.add_parser("show", help="an entity's dead letters, with why each failed")
    show.add_argument("entity")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=_dlq_show)
    redrive = dlq_commands.add_parser("redrive", help="send dead letters back to their queue")
    redrive.add_argument("entity")
    redrive.add_argument("--message-id", action="append", dest="message_ids", help="only these (repeatable)")
    redrive.add_argument("--dry-run", action="store_true", help="say what would move; move nothing")
    redrive.set_defaults(run=_dlq_redrive)

    invoke = commands.add_parser("invoke", help="invoke one function once in a real runtime")
    invoke.add_argument("function", help="api, or an entity (customers), or a function name")
    invoke.add_argument("event", type=Path, help="event JSON file ('-' for stdin)")
    invoke.set_defaults(run=_invoke)

    for module in ("queuefirst.fingerprint", "queuefirst.deploy"):
        _register_optional(module, commands)
    return parser


def _register_optional(module: str, commands: Any) -> None:
    import importlib

    with contextlib.suppress(ImportError):
        importlib.import_module(module).register(commands)


# -- graph ------------------------------------------------------------------------------


def _registry_or_exit(spec: str | None = None) -> Registry:
    return load_registry(spec or DevSettings().registry)


def _graph(args: argparse.Namespace) -> int:
    registry = _registry_or_exit()
    if args.check:
        print(f"ok: {len(registry)} entities, no cycles, every edge declared on both sides")
        return 0
    if args.mermaid:
        print("flowchart TD")
        print("  api([api]) -->|commands| " + " & ".join(e.name for e in registry.roots()))
        for entity in registry.values():
            for child in entity.children:
                print(f"  {entity.name} -->|purge| {child}")
        return 0

    def tree(name: str, prefix: str, last: bool) -> None:
        entity = registry[name]
        scaling = entity.scaling
        print(
            f"{prefix}{'└── ' if last else '├── '}{name}  (batch {scaling.batch_size}, "
            f"max concurrency {scaling.maximum_concurrency}, timeout {scaling.timeout_seconds}s)"
        )
        for i, child in enumerate(entity.children):
            tree(child, prefix + ("    " if last else "│   "), i == len(entity.children) - 1)

    print(registry.app)
    roots = registry.roots()
    for i, root in enumerate(roots):
        tree(root.name, "", i == len(roots) - 1)
    return 0


# -- endpoints of a running stack, or of AWS ----------------------------------------------


def _endpoints() -> dict[str, Any]:
    settings = DevSettings()
    state_file = settings.home / "dev.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    return {
        "database_url": settings.database_url or state.get("database_url"),
        "sqs_endpoint_url": settings.sqs_endpoint_url or state.get("sqs_endpoint_url"),
        "region": settings.region,
    }


def _dead_letters() -> Any:
    from queuefirst.dlq import DeadLetters
    from queuefirst.sender import sqs_client
    from queuefirst.store.engine import make_engine
    from queuefirst.store.schema import build_schema

    registry = _registry_or_exit()
    found = _endpoints()
    engine = make_engine(found["database_url"], pool_size=1) if found["database_url"] else None
    client = sqs_client(found["sqs_endpoint_url"], found["region"])
    return registry, DeadLetters(client, registry.app, engine, build_schema(registry))


def _dlq_ls(args: argparse.Namespace) -> int:
    registry, letters = _dead_letters()
    print(f"{'entity':<16} {'dead letters':>12}")
    for name in registry:
        print(f"{name:<16} {letters.depth(name):>12}")
    return 0


def _dlq_show(args: argparse.Namespace) -> int:
    registry, letters = _dead_letters()
    _known(registry, args.entity)
    shown = [letter.summary() for letter in letters.peek(args.entity)]
    if args.json:
        print(json.dumps(shown, indent=2))
    elif not shown:
        print(f"no dead letters for {args.entity}")
    for item in shown if not args.json else []:
        print(
            f"{item['message_id']}  {item.get('op', '?')} {item.get('key', '?')}  "
            f"received {item['receive_count']}x\n    reason: {item['reason']}"
        )
    return 0


def _dlq_redrive(args: argparse.Namespace) -> int:
    registry, letters = _dead_letters()
    _known(registry, args.entity)
    moved = letters.redrive(args.entity, args.message_ids, dry_run=args.dry_run)
    verb = "would redrive" if args.dry_run else "redrove"
    for letter in moved:
        print(f"{verb} {letter.message_id}")
    print(f"{verb} {len(moved)} message(s) to {args.entity}")
    missing = set(args.message_ids or ()) - {m.message_id for m in moved}
    if missing:
        print(f"not found in the dead-letter queue: {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    return 0


def _known(registry: Registry, entity: str) -> None:
    if entity not in registry:
        raise ValueError(f"unknown entity {entity!r}; known: {', '.join(registry)}")


# -- invoke -----------------------------------------------------------------------------


def _invoke(args: argparse.Namespace) -> int:
    from queuefirst.local.rie import rie_binary
    from queuefirst.local.runtime import RuntimeInstance
    from queuefirst.local.stack import function_specs

    settings = DevSettings()
    registry = _registry_or_exit()
    found = _endpoints()
    event = json.loads(sys.stdin.read() if str(args.event) == "-" else args.event.read_text())
    environment = {
        "DATABASE_URL": found["database_url"] or "",
        "AWS_REGION": found["region"],
        "SQS_ENDPOINT_URL": found["sqs_endpoint_url"] or "",
    }
    specs = function_specs(registry, settings, {k: v for k, v in environment.items() if v}, {})
    # api, shop-api; customers, worker-customers, shop-customers-worker
    wanted = args.function.removeprefix("worker-")
    spec = next(
        (
            s
            for s in specs
            if wanted
            in (s.name, s.name.removeprefix(f"{registry.app}-"), s.environment.get("QUEUEFIRST_ENTITY"))
        ),
        None,
    )
    if spec is None:
        raise ValueError(f"unknown function {args.function!r}: api or one of {', '.join(registry)}")
    log_path = settings.home / "logs" / f"invoke-{spec.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        instance = RuntimeInstance(spec, rie_binary(settings.home / "bin"), log).start()
        try:
            result = instance.invoke(event)
        finally:
            instance.stop()
    print(json.dumps(result.payload, indent=2))
    if not result.ok:
        print(f"queuefirst: {spec.name} failed: {result.error} (log: {log_path})", file=sys.stderr)
        return 1
    return 0


# -- dev --------------------------------------------------------------------------------


def _dev(args: argparse.Namespace) -> int:
    from queuefirst.local.stack import DevStack, StackError

    overrides: dict[str, Any] = {}
    if args.port:
        overrides["QUEUEFIRST_PORT"] = args.port
    if args.concurrency:
        overrides["QUEUEFIRST_CONCURRENCY"] = args.concurrency
    if args.visibility_timeout:
        overrides["QUEUEFIRST_VISIBILITY_TIMEOUT"] = args.visibility_timeout
    settings = DevSettings(**overrides)
    registry = load_registry(settings.registry)
    live = _LiveTable(enabled=sys.stdout.isatty() and not args.no_table)
    container_command = None
    if args.images:
        from queuefirst.local.containers import container_command_for

        container_command = container_command_for(registry)
    stack = DevStack(settings, registry, log=live.log, container_command=container_command, reset=args.reset)
    stopped = threading.Event()
    # Ctrl-C, kill, or the terminal closing: stop everything we started.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        stack.start()
    except StackError as error:
        print(f"queuefirst: {error}", file=sys.stderr)
        return 2
    print(stack.summary(), flush=True)
    try:
        live.run(stack.stats.rows, stopped)
    finally:
        print("queuefirst dev: stopping", flush=True)
        stack.stop()
    return 0


class _LiveTable:
    """Log lines scroll above; on a terminal, a per-function table stays below."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._live: Any = None

    def log(self, line: str) -> None:
        if self._live is not None:
            self._live.console.print(line, markup=False, highlight=False)
        else:
            print(line, flush=True)

    def run(self, rows: Callable[[], list[tuple[Any, ...]]], stopped: threading.Event) -> None:
        if not self.enabled:
            stopped.wait()
            return
        from rich.live import Live
        from rich.table import Table

        def render() -> Table:
            table = Table(title="functions", expand=False)
            for column in ("function", "invocations", "errors", "p50 ms", "p99 ms", "queue", "dlq"):
                table.add_column(column, justify="left" if column == "function" else "right")
            for name, count, errors, p50, p99, depth, dead in rows():
                table.add_row(name, str(count), str(errors), _num(p50), _num(p99), _num(depth), _num(dead))
            return table

        with Live(render(), refresh_per_second=2, transient=False) as live:
            self._live = live
            while not stopped.wait(0.5):
                live.update(render())
        self._live = None


def _num(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
