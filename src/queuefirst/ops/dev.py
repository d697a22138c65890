"""`queuefirst dev`: the whole system on this machine, until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from queuefirst.local import ContainerLauncher, DevSettings, DevStack, LaunchError, StackError
from queuefirst.model.application import load_application


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dev", help="run the whole system locally")
    parser.add_argument("--reset", action="store_true", help="start with an empty embedded database")
    parser.add_argument("--port", type=int, help="gateway port (default 3000, QUEUEFIRST_PORT)")
    parser.add_argument("--concurrency", help="local pool sizes, e.g. orders=3,api=2")
    parser.add_argument("--visibility-timeout", type=int, help="seconds, for every queue (local only)")
    parser.add_argument("--images", action="store_true", help="run the built images instead of processes")
    parser.add_argument("--no-table", action="store_true", help="log lines only, no live table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.port:
        overrides["QUEUEFIRST_PORT"] = args.port
    if args.concurrency:
        overrides["QUEUEFIRST_CONCURRENCY"] = args.concurrency
    if args.visibility_timeout:
        overrides["QUEUEFIRST_VISIBILITY_TIMEOUT"] = args.visibility_timeout
    settings = DevSettings(**overrides)
    application = load_application()
    live = LiveTable(enabled=sys.stdout.isatty() and not args.no_table)
    stack = DevStack(settings, application, log=live.log, reset=args.reset)
    stopped = threading.Event()
    # Ctrl-C, kill, or the terminal closing: stop everything we started.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        if args.images:
            stack.launcher = ContainerLauncher.for_functions([spec.name for spec in stack.function_specs()])
        stack.start()
    except (StackError, LaunchError) as error:
        print(f"queuefirst: {error}", file=sys.stderr)
        return 2
    print(stack.summary(), flush=True)
    try:
        live.run(stack.stats.rows, stopped)
    finally:
        print("queuefirst dev: stopping", flush=True)
        stack.stop()
    return 0


class LiveTable:
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
            columns = ("function", "runtimes", "invocations", "errors", "p50 ms", "p99 ms", "queue", "dlq")
            for column in columns:
                table.add_column(column, justify="left" if column == "function" else "right")
            for name, runtimes, count, errors, p50, p99, depth, dead in rows():
                values = (runtimes, count, errors, p50, p99, depth, dead)
                table.add_row(name, *(_num(v) for v in values))
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
