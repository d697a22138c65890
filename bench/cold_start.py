"""Cold start of each function against `import boto3`, measured in one run.

1. Import: a fresh Python process importing the function's composition root
   (`queuefirst.functions.api`, `queuefirst.functions.worker` for each entity)
   against a fresh process importing boto3, taking turns; medians.
2. Init under RIE: a fresh runtime (AWS's Runtime Interface Emulator running
   `python -m awslambdaric <handler>`, as `queuefirst dev` and the images run
   it) from start to its first answer, against a trivial handler's.
3. The import table: the packages a worker's import spends its time in.

Run: `python bench/cold_start.py [--rounds 15] [--write]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record

from queuefirst.local import FunctionSpec, ProcessLauncher, RuntimeInstance, rie_binary
from shop import application as shop

ENV = {
    "QUEUEFIRST_APPLICATION": "shop",
    # Imports never connect: a refused address is as good as any.
    "DATABASE_URL": "postgresql://bench@127.0.0.1:9/bench",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
}
PROBE = "import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"


def import_ms(module: str, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    return float(result.stdout.strip().splitlines()[-1])


def imports(rounds: int) -> dict[str, tuple[float, float]]:
    """function -> (median import ms, median boto3 ms measured in the same turns)."""
    functions = {"api": ("queuefirst.functions.api", {})}
    for entity in shop.entity_names():
        functions[f"worker-{entity}"] = ("queuefirst.functions.worker", {"QUEUEFIRST_ENTITY": entity})
    times: dict[str, list[float]] = {name: [] for name in functions}
    boto: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, (module, extra) in functions.items():
            times[name].append(import_ms(module, {**ENV, **extra}))
            boto[name].append(import_ms("boto3", ENV))
    return {name: (statistics.median(times[name]), statistics.median(boto[name])) for name in functions}


def rie_init(rounds: int) -> dict[str, float]:
    """Median ms from starting a runtime to its first answer."""
    rie = rie_binary(Path(tempfile.gettempdir()) / "queuefirst-test-rie")
    work = Path(tempfile.mkdtemp(prefix="qf-bench-cold-"))
    (work / "bench_trivial.py").write_text("def handler(event, context):\n    return {}\n")
    trivial_env = {**ENV, "PYTHONPATH": str(work)}
    cases: dict[str, tuple[str, dict[str, str], Any]] = {
        "trivial handler": ("bench_trivial.handler", trivial_env, {}),
        "worker-orders": (
            "queuefirst.functions.worker.handler",
            {**ENV, "QUEUEFIRST_ENTITY": "orders"},
            {"Records": []},
        ),
        "api": ("queuefirst.functions.api.handler", ENV, None),
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    with open(work / "runtimes.log", "ab") as log:
        for _ in range(rounds):
            for name, (handler, env, event) in cases.items():
                spec = FunctionSpec(name.replace(" ", "-"), handler, env, 30, 512, 1)
                started = time.perf_counter()
                instance = RuntimeInstance(spec, ProcessLauncher(rie), log).start()
                try:
                    answer = instance.invoke(event if event is not None else _openapi_request())
                    assert answer.ok, answer.error
                    results[name].append((time.perf_counter() - started) * 1000)
                finally:
                    instance.stop()
    return {name: statistics.median(values) for name, values in results.items()}


def _openapi_request() -> dict[str, Any]:
    from queuefirst.local import http_event

    return http_event("GET", "/openapi.json")


def import_table(entity: str = "orders", top: int = 8) -> list[tuple[str, float]]:
    """The top-level packages a worker's import spends its time in (python -X importtime)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import queuefirst.functions.worker"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **ENV, "QUEUEFIRST_ENTITY": entity},
    )
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if not name.startswith(" ") and cumulative.isdigit():
            package = name.strip().split(".")[0]
            totals[package] = max(totals.get(package, 0.0), int(cumulative) / 1000)
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--write", action="store_true", help="record the tables in bench/results/latest.md")
    args = parser.parse_args()
    lines = [
        "| function | import ms (median) | import boto3 ms | ratio (goal <= 1.5x) |",
        "|---|---|---|---|",
    ]
    for name, (own, boto) in imports(args.rounds).items():
        lines.append(f"| {name} | {own:.0f} | {boto:.0f} | {own / boto:.2f}x |")
    init = rie_init(max(3, args.rounds // 3))
    lines += ["", "| under RIE, start to first answer | ms (median) | vs trivial handler |", "|---|---|---|"]
    for name, ms in init.items():
        lines.append(f"| {name} | {ms:.0f} | {ms / init['trivial handler']:.2f}x |")
    lines += ["", "| worker import, by top-level package | cumulative ms |", "|---|---|"]
    lines += [f"| {package} | {ms:.0f} |" for package, ms in import_table()]
    print("\n".join(lines))
    if args.write:
        record("cold_start", "\n".join(lines))


if __name__ == "__main__":
    main()
