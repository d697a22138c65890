"""The gateway under load: 100 keep-alive clients against the shop's api and against a trivial function.

Run: `python bench/gateway_load.py` (`make bench`; about a minute and a half).
Starts `queuefirst dev`'s stack in-process for the shop (its api function
wrapped by bench/timed_api.py, which reports where each request's time goes),
and beside it the same gateway code in front of a pool of the same size
running bench/trivial.py: the gateway's own ceiling. Then, in this one run:

1. Breakdown, one request at a time: per request, the api's reads, its queue
   send and the rest of the handler, and the runtime hop (client latency
   minus the handler's own time: the gateway, RIE and awslambdaric).
2. Load: CLIENTS kept-alive connections for SECONDS each, first against the
   trivial function, then against the api (half reads of one product, half
   creates of new products). Accepted requests per second, p50 and p99.
3. Checks: no connection reset, no 5xx, and every accepted create applied
   (no lost writes). Prints figures and ratios; asserts nothing about time.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from queuefirst.local import (  # noqa: E402
    DevSettings,
    DevStack,
    FunctionSpec,
    Gateway,
    GatewayServer,
    Invocation,
    ProcessLauncher,
    RuntimePool,
    free_port,
    rie_binary,
)
from queuefirst.model.principal import OPERATORS, USERS  # noqa: E402
from queuefirst.store.database import conninfo  # noqa: E402
from shop import application as shop  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", 100))
SECONDS = float(os.environ.get("BENCH_SECONDS", 15))
API_RUNTIMES = int(os.environ.get("BENCH_API_RUNTIMES", 2))
SEQUENTIAL = 150
PRODUCT = {"sku": "BENCH-1", "name": "Bench", "price_minor": 100, "currency": "EUR"}


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    resets: int = 0
    created: list[str] = field(default_factory=list)


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, dict[str, str], bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(lines[0].split(" ", 2)[1]), headers, body


# Tokens by method: products are read by end users and written by operators (set in main).
TOKENS: dict[str, str] = {}


def request(method: str, path: str, body: Any = None) -> bytes:
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(data)}\r\n"
    if method in TOKENS:
        head += f"Authorization: Bearer {TOKENS[method]}\r\n"
    return (head + ("Content-Type: application/json\r\n" if data else "") + "\r\n").encode() + data


async def client(port: int, number: int, api: bool, until: float, tally: Tally) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    while time.monotonic() < until:
        sent += 1
        if not api:
            raw = request("GET", "/")
        elif sent % 2:
            raw = request("GET", "/products/bench-seed")
        else:
            key = f"bench-{number}-{sent}"
            raw = request("POST", "/products", {**PRODUCT, "id": key})
        started = time.perf_counter()
        try:
            status, _, _ = await exchange(reader, writer, raw)
        except (ConnectionError, asyncio.IncompleteReadError):
            tally.resets += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        tally.latencies.append((time.perf_counter() - started) * 1000)
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        if api and status == 202:
            tally.created.append(key)
    writer.close()


async def load(port: int, api: bool) -> tuple[Tally, float]:
    tally = Tally()
    started = time.monotonic()
    await asyncio.gather(*(client(port, n, api, started + SECONDS, tally) for n in range(CLIENTS)))
    return tally, time.monotonic() - started


async def breakdown(port: int) -> dict[str, list[float]]:
    parts: dict[str, list[float]] = {}
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for n in range(SEQUENTIAL * 2):
        kind = "read" if n % 2 else "create"
        raw = (
            request("GET", "/products/bench-seed")
            if n % 2
            else request("POST", "/products", {**PRODUCT, "id": f"seq-{n}"})
        )
        started = time.perf_counter()
        status, headers, answer = await exchange(reader, writer, raw)
        latency = (time.perf_counter() - started) * 1000
        if "x-timing" not in headers:
            raise SystemExit(f"the api answered {status} without its timing: {answer[:300]!r}")
        timing = dict(item.split("=") for item in headers["x-timing"].split(";"))
        handler, reads, send = (float(timing[k]) for k in ("handler", "reads", "send"))
        for name, value in (
            ("client latency", latency),
            ("runtime hop (gateway, RIE, awslambdaric)", latency - handler),
            ("handler", handler),
            ("  reads", reads),
            ("  reads per request (count)", float(timing["n"])),
            ("  queue send", send),
            ("  rest (validation, routing, logs, metrics)", handler - reads - send),
        ):
            parts.setdefault(f"{kind}: {name}", []).append(value)
    writer.close()
    return parts


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def report(name: str, tally: Tally, elapsed: float) -> float:
    rate = len(tally.latencies) / elapsed
    print(
        f"  {name:<8} {rate:8.1f} req/s  p50 {pct(tally.latencies, 50):7.1f} ms"
        f"  p99 {pct(tally.latencies, 99):7.1f} ms"
        f"  statuses {dict(sorted(tally.statuses.items()))}  resets {tally.resets}"
    )
    return rate


def trivial_gateway(home: Path) -> tuple[RuntimePool, GatewayServer]:
    spec = FunctionSpec(
        "bench-trivial",
        "bench.trivial.handler",
        {},
        timeout_seconds=30,
        memory_mb=128,
        concurrency=API_RUNTIMES,
    )
    pool = RuntimePool(spec, ProcessLauncher(rie_binary(home / "bin")), home / "logs").start()
    pool.warm({})

    def invoke(event: dict[str, Any], wait: float) -> Invocation:
        try:
            return pool.invoke(event, wait=wait)
        except queue.Empty:
            raise TimeoutError from None

    return pool, GatewayServer(Gateway(invoke, API_RUNTIMES), "127.0.0.1", 0).start()


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="queuefirst-bench-"))
    home.chmod(0o755)  # the embedded PostgreSQL runs as an unprivileged user under root
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
    )
    settings = DevSettings(
        QUEUEFIRST_HOME=home,
        QUEUEFIRST_PORT=free_port(),
        QUEUEFIRST_API_HANDLER="bench.timed_api.handler",
        QUEUEFIRST_CONCURRENCY=f"api={API_RUNTIMES}",
    )
    stack = DevStack(settings, shop, log=lambda line: None).start()
    TOKENS.update({"GET": stack.issuer.mint(USERS, "bench"), "POST": stack.issuer.mint(OPERATORS, "bench")})
    pool, trivial = trivial_gateway(home)
    try:
        api_port = settings.port
        asyncio.run(seed(api_port))
        parts = asyncio.run(breakdown(api_port))
        print(f"one request at a time ({SEQUENTIAL} each), median ms:")
        for name, values in parts.items():
            print(f"  {name:<55} {statistics.median(values):7.2f}")
        print(
            f"{CLIENTS} kept-alive clients, {SECONDS:.0f} s each, "
            f"{API_RUNTIMES} runtimes behind each gateway:"
        )
        trivial_tally, trivial_time = asyncio.run(load(trivial.port, api=False))
        api_tally, api_time = asyncio.run(load(api_port, api=True))
        ceiling = report("trivial", trivial_tally, trivial_time)
        rate = report("api", api_tally, api_time)
        print(
            f"  api / trivial: {rate / ceiling:.2f}x the requests per second, "
            f"{pct(api_tally.latencies, 50) / pct(trivial_tally.latencies, 50):.2f}x the p50"
        )
        lost = wait_applied(stack.running.database_url, api_tally.created)
        resets = trivial_tally.resets + api_tally.resets
        errors = sum(c for t in (trivial_tally, api_tally) for s, c in t.statuses.items() if s >= 500)
        print(f"  writes: {len(api_tally.created)} accepted, {lost} lost; resets: {resets}; 5xx: {errors}")
    finally:
        trivial.stop()
        pool.stop()
        stack.stop()


async def seed(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await exchange(reader, writer, request("POST", "/products", {**PRODUCT, "id": "bench-seed"}))
    for _ in range(200):
        if (await exchange(reader, writer, request("GET", "/products/bench-seed")))[0] == 200:
            break
        await asyncio.sleep(0.05)
    writer.close()


def wait_applied(database_url: str, keys: list[str], timeout: float = 120) -> int:
    """How many accepted creates never became rows."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(**conninfo(database_url), autocommit=True) as conn:
        while True:
            found = conn.execute("SELECT count(*) FROM products WHERE id = ANY(%s)", [keys]).fetchone()
            missing = len(keys) - (found[0] if found else 0)
            if missing == 0 or time.monotonic() > deadline:
                return missing
            time.sleep(0.5)


if __name__ == "__main__":
    main()
