"""What a local Lambda runtime costs compared with calling the handler in-process.

Run: `python bench/invoke_overhead.py` (about a minute; needs the `local`
extra: moto and PostgreSQL binaries, and the cached or downloadable
`aws-lambda-rie`). Prints figures and the ratios between them, all measured
in this one run; it asserts nothing about time.

1. Warm invocations through a `RuntimeInstance` (RIE wrapping
   `python -m awslambdaric <handler>`, invoked with `RuntimeInstance.invoke`
   exactly as the dev stack's pools do) against the same handler called in
   this process, alternating call by call so both see the same machine
   state. Handlers: a trivial one (`{"ok": True}`), and the real products
   worker (`queuefirst.functions.worker.handler`) on an empty SQS event and on a
   one-record event carrying a fresh products create each call. The goal:
   a median warm overhead of at most 2 ms.
2. Breakdown of the runtime hop, on the trivial handler's instance:
   `RuntimeInstance.invoke` against a bare POST of the same event over a
   second kept-open connection (what the wrapper's checks cost), and the
   JSON work on the bench side.
3. Cold start: `RuntimeInstance.start()` plus the first invocation of a new
   instance (RIE starts the runtime on the first invoke) against the wall
   time of `python -c "import boto3"`.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any, TextIO

from queuefirst.local import (
    INVOKE_PATH,
    FunctionSpec,
    LocalSqs,
    ProcessLauncher,
    RuntimeInstance,
    queue_arn,
    rie_binary,
    scratch_postgres,
    sqs_event,
)
from queuefirst.model.command import Command
from queuefirst.schema.upgrade import upgrade
from shop import application as shop

WARM_CALLS = 300
WARMUP_CALLS = 20
COLD_REPETITIONS = 10
GOAL_MS = 2.0
REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[1]
TRIVIAL_MODULE = "bench_trivial_handler"
TRIVIAL_SOURCE = "def handler(event, context):\n    return {'ok': True}\n"

Handler = Callable[[Any, Any], Any]


class Context:
    """The parts of a Lambda context Powertools reads, for in-process calls."""

    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    aws_request_id = "bench-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


@dataclass(frozen=True)
class Summary:
    median: float
    p90: float
    p99: float
    n: int

    @classmethod
    def of(cls, samples: list[float]) -> Summary:
        cuts = statistics.quantiles(samples, n=100, method="inclusive")
        return cls(statistics.median(samples), cuts[89], cuts[98], len(samples))


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def stdout_to(path: Path) -> Iterator[None]:
    """Send fd 1 to a file: in-process handlers log there, as the runtimes log to theirs."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(path, "ab") as sink:
        os.dup2(sink.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def start_instance(
    stack: contextlib.ExitStack, spec: FunctionSpec, rie: Path, sink: IO[bytes]
) -> RuntimeInstance:
    instance = RuntimeInstance(spec, ProcessLauncher(rie), sink)
    stack.callback(instance.stop)  # before start(): a start that fails half-way still stops
    return instance.start()


def invoke_ok(instance: RuntimeInstance, event: Any) -> Any:
    result = instance.invoke(event)
    if not result.ok:
        raise RuntimeError(f"{instance.spec.name} failed: {result.error}")
    return result.payload


def products_event(sqs_url: str) -> dict[str, Any]:
    """A one-record SQS event creating a new product: every call writes a fresh row."""
    key = str(uuid.uuid4())
    command = Command(
        command_id=uuid.uuid4(),
        entity="products",
        op="create",
        key=key,
        version=time.time_ns() // 1000,
        payload={"sku": f"SKU-{key[:8].upper()}", "name": "Bench", "price_minor": 1999, "currency": "EUR"},
    )
    message = {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": str(uuid.uuid4()),
        "Body": command.to_json(),
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(time.time_ns() // 1_000_000),
            "MessageGroupId": key,
        },
    }
    arn = queue_arn(f"{sqs_url}/000000000000/shop-products.fifo", REGION)
    return sqs_event([message], arn=arn, region=REGION)


@dataclass(frozen=True)
class WarmCase:
    name: str
    instance: RuntimeInstance
    handler: Handler
    event: Callable[[], Any]
    expected: Any


def measure_warm(case: WarmCase) -> tuple[Summary, Summary]:
    """Runtime and in-process, alternating call by call; each call's event is built outside the timing."""
    context = Context()
    runtime: list[float] = []
    local: list[float] = []
    for i in range(WARMUP_CALLS + WARM_CALLS):
        event = case.event()
        started = time.perf_counter()
        remote = invoke_ok(case.instance, event)
        elapsed_runtime = ms_since(started)
        event = case.event()
        started = time.perf_counter()
        here = case.handler(event, context)
        elapsed_local = ms_since(started)
        if remote != case.expected or here != case.expected:
            raise RuntimeError(f"{case.name}: unexpected responses {remote!r} / {here!r}")
        if i >= WARMUP_CALLS:
            runtime.append(elapsed_runtime)
            local.append(elapsed_local)
    return Summary.of(runtime), Summary.of(local)


def measure_hop(instance: RuntimeInstance, event: Any) -> tuple[Summary, Summary]:
    """`RuntimeInstance.invoke` against a bare POST of the same event to the same RIE over a
    second kept-alive `http.client` connection, alternating call by call."""
    connection = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=30)
    via_invoke: list[float] = []
    persistent: list[float] = []
    try:
        for i in range(WARMUP_CALLS + WARM_CALLS):
            started = time.perf_counter()
            invoke_ok(instance, event)
            elapsed_invoke = ms_since(started)
            started = time.perf_counter()
            connection.request("POST", INVOKE_PATH, body=json.dumps(event).encode())
            json.loads(connection.getresponse().read())
            if i >= WARMUP_CALLS:
                via_invoke.append(elapsed_invoke)
                persistent.append(ms_since(started))
    finally:
        connection.close()
    return Summary.of(via_invoke), Summary.of(persistent)


def measure_json(event: Any) -> Summary:
    samples: list[float] = []
    payload = json.dumps({"batchItemFailures": []})
    for _ in range(WARM_CALLS):
        started = time.perf_counter()
        json.loads(payload)
        json.dumps(event).encode()
        samples.append(ms_since(started))
    return Summary.of(samples)


@dataclass(frozen=True)
class ColdStart:
    start_ms: float
    first_invoke_ms: float

    @property
    def total_ms(self) -> float:
        return self.start_ms + self.first_invoke_ms


def measure_cold(spec: FunctionSpec, rie: Path, sink: IO[bytes], event: Any) -> list[ColdStart]:
    runs: list[ColdStart] = []
    for _ in range(COLD_REPETITIONS):
        with contextlib.ExitStack() as stack:
            started = time.perf_counter()
            instance = start_instance(stack, spec, rie, sink)
            started_ms = ms_since(started)
            started = time.perf_counter()
            invoke_ok(instance, event)
            runs.append(ColdStart(started_ms, ms_since(started)))
    return runs


def measure_python(code: str) -> list[float]:
    samples: list[float] = []
    for _ in range(COLD_REPETITIONS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, stdin=subprocess.DEVNULL)
        samples.append(ms_since(started))
    return samples


def table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


def fmt(value: float) -> str:
    return f"{value:.3f}"


def run(stack: contextlib.ExitStack) -> str:
    work = Path(tempfile.mkdtemp(prefix="qf-bench-"))
    stack.callback(shutil.rmtree, work, ignore_errors=True)
    rie = rie_binary(Path(os.environ.get("QUEUEFIRST_HOME", ROOT / ".queuefirst")) / "bin")
    sink = stack.enter_context(open(work / "runtimes.log", "ab"))  # noqa: SIM115 - closed by the stack

    log("starting PostgreSQL and moto")
    # Not under `work`: as root the server runs as another user, who must be able
    # to enter every parent of its directory (mkdtemp's 0700 `work` is not).
    postgres = stack.enter_context(scratch_postgres("qf-bench-pg-"))
    sqs = LocalSqs()
    stack.callback(sqs.stop)
    sqs.start()
    upgrade(postgres.url, shop)

    (work / "handlers").mkdir()
    (work / "handlers" / f"{TRIVIAL_MODULE}.py").write_text(TRIVIAL_SOURCE)
    trivial_spec = FunctionSpec(
        "bench-trivial", f"{TRIVIAL_MODULE}.handler", {"PYTHONPATH": str(work / "handlers")}, 15, 256, 1
    )
    worker_env = {
        "QUEUEFIRST_ENTITY": "products",
        "QUEUEFIRST_APPLICATION": "shop",
        "DATABASE_URL": postgres.url,
        "SQS_ENDPOINT_URL": sqs.url,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
    }
    worker_spec = FunctionSpec(
        "shop-products-worker", "queuefirst.functions.worker.handler", worker_env, 15, 256, 1
    )

    sys.path.insert(0, str(work / "handlers"))
    trivial_handler: Handler = importlib.import_module(TRIVIAL_MODULE).handler
    with environment(worker_env):
        worker_handler: Handler = importlib.import_module("queuefirst.functions.worker").handler

    empty: dict[str, Any] = {"Records": []}
    no_failures: dict[str, list[Any]] = {"batchItemFailures": []}
    trivial = start_instance(stack, trivial_spec, rie, sink)
    worker = start_instance(stack, worker_spec, rie, sink)
    cases = [
        WarmCase("trivial handler", trivial, trivial_handler, lambda: empty, {"ok": True}),
        WarmCase("worker, empty event", worker, worker_handler, lambda: empty, no_failures),
        WarmCase("worker, one create", worker, worker_handler, lambda: products_event(sqs.url), no_failures),
    ]
    warm: dict[str, tuple[Summary, Summary]] = {}
    with stdout_to(work / "in-process.log"):
        for case in cases:
            log(f"warm: {case.name} ({WARM_CALLS} calls each way)")
            warm[case.name] = measure_warm(case)
        log("warm: breakdown of the runtime hop")
        via_invoke, persistent = measure_hop(trivial, empty)
        json_one = measure_json(products_event(sqs.url))
    trivial.stop()
    worker.stop()

    log(f"cold: {COLD_REPETITIONS} starts of each runtime, and of python")
    cold_trivial = measure_cold(trivial_spec, rie, sink, empty)
    cold_worker = measure_cold(worker_spec, rie, sink, empty)
    python_bare = measure_python("pass")
    python_boto3 = measure_python("import boto3")

    out = io.StringIO()
    print(f"\nWarm invocations: {WARM_CALLS} each (after {WARMUP_CALLS} warm-up), ms\n", file=out)
    rows = [["case", "path", "median", "p90", "p99", "overhead (median)", "ratio", f"<= {GOAL_MS:g} ms"]]
    for name, (runtime, local) in warm.items():
        overhead = runtime.median - local.median
        rows.append([name, "in-process", fmt(local.median), fmt(local.p90), fmt(local.p99), "", "", ""])
        rows.append(
            [
                name,
                "runtime (RIE)",
                fmt(runtime.median),
                fmt(runtime.p90),
                fmt(runtime.p99),
                fmt(overhead),
                f"{runtime.median / local.median:.1f}x",
                "met" if overhead <= GOAL_MS else "NOT met",
            ]
        )
    table(rows, out)

    print("\nBreakdown of the hop (trivial handler, same RIE instance, alternating), ms\n", file=out)
    rows = [
        ["path", "median", "p90", "p99"],
        ["RuntimeInstance.invoke", *map(fmt, _cols(via_invoke))],
        ["bare POST on a kept-open http.client connection", *map(fmt, _cols(persistent))],
        ["bench-side JSON (one-record event dumps + reply loads)", *map(fmt, _cols(json_one))],
    ]
    table(rows, out)
    print(
        f"\nper-call cost of the wrapper: {via_invoke.median - persistent.median:.3f} ms "
        f"({via_invoke.median / persistent.median:.2f}x the bare POST)",
        file=out,
    )

    print(f"\nCold start: {COLD_REPETITIONS} runs each, medians, ms\n", file=out)
    boto3_ms = statistics.median(python_boto3)
    rows = [["what", "start()", "first invoke", "total", "ratio to import boto3"]]
    for name, runs in (("runtime, trivial handler", cold_trivial), ("runtime, products worker", cold_worker)):
        total = statistics.median(r.total_ms for r in runs)
        rows.append(
            [
                name,
                fmt(statistics.median(r.start_ms for r in runs)),
                fmt(statistics.median(r.first_invoke_ms for r in runs)),
                fmt(total),
                f"{total / boto3_ms:.2f}x",
            ]
        )
    for name, samples in (('python -c "pass"', python_bare), ('python -c "import boto3"', python_boto3)):
        total = statistics.median(samples)
        rows.append([name, "", "", fmt(total), f"{total / boto3_ms:.2f}x"])
    table(rows, out)
    return out.getvalue()


def _cols(summary: Summary) -> tuple[float, float, float]:
    return summary.median, summary.p90, summary.p99


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the cleanup


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    # The in-process worker on an empty event warns on every call; its runtime twin logs the same.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        report = run(stack)
    print(report)
    print(f"(bench took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
