"""The dev stack's control endpoint: what the admin console's operations page reads and changes.

A small HTTP server on 127.0.0.1 (its own port, handed to the admin function
with a secret in its environment), never behind the gateway:

- `GET /functions`: per function, the stack's own figures (invocations,
  errors, p50/p99 from `runtimes/stats.py`), its queue's depth, in-flight
  messages and dead letters as SQS counts them now, the oldest message's age
  as the poller last saw it, its scaling and its runtimes;
- `PUT /functions/<name>/scaling` `{"batch_size", "maximum_concurrency",
  "reserved_concurrency"}`: applied at once to the running poller (threads,
  batch size) and runtime pool (its limit: the maximum concurrency, capped by
  the reserved concurrency; a reserved concurrency of 0 pauses the poller, as
  a throttled function takes nothing from its event source).
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from queuefirst.local.eventsource.poller import EventSourcePoller
from queuefirst.local.runtimes.pool import RuntimePool
from queuefirst.local.runtimes.stats import Stats
from queuefirst.local.servers.queues import EntityQueues

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_SCALING = re.compile(r"^/functions/(?P<name>[A-Za-z0-9_.-]+)/scaling$")
MAX_BODY = 4096


class ControlError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class StackControls:
    """The running parts the endpoint reads and changes; filled in as the stack starts them."""

    stats: Stats
    pools: dict[str, RuntimePool] = field(default_factory=dict)
    pollers: dict[str, EventSourcePoller] = field(default_factory=dict)  # by worker function
    queues: dict[str, EntityQueues] = field(default_factory=dict)  # by entity
    client: SQSClient | None = None
    # What the console set, by worker function (the poller runs the lower of the two).
    maxima: dict[str, int] = field(default_factory=dict)
    reserved: dict[str, int | None] = field(default_factory=dict)
    log: Callable[[str], None] = print
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def figures(self) -> list[dict[str, Any]]:
        out = []
        for name, runtimes, count, errors, p50, p99, _depth, _dead in self.stats.rows():
            pool = self.pools.get(name)
            poller = self.pollers.get(name)
            figures: dict[str, Any] = {
                "function": name,
                "entity": poller.entity.name if poller else None,
                "invocations": count,
                "errors": errors,
                "p50_ms": p50,
                "p99_ms": p99,
                "runtimes": pool.size if pool else runtimes,
                "runtime_limit": pool.limit if pool else None,
            }
            if poller is not None:
                figures |= self._queue_figures(poller)
                figures["scaling"] = {
                    "batch_size": poller.batch_size,
                    "maximum_concurrency": self.maxima.get(name, poller.entity.scaling.maximum_concurrency),
                    "reserved_concurrency": self.reserved.get(name),
                }
                figures["pollers"] = poller.running
            out.append(figures)
        return out

    def _queue_figures(self, poller: EventSourcePoller) -> dict[str, Any]:
        queues = self.queues.get(poller.entity.name)
        if queues is None or self.client is None:
            return {}
        try:
            main = self.client.get_queue_attributes(
                QueueUrl=queues.url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            dead = self.client.get_queue_attributes(
                QueueUrl=queues.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
        except Exception:  # unknown figures show as such; the rest still answer
            return {}
        depth = int(main["ApproximateNumberOfMessages"])
        in_flight = int(main["ApproximateNumberOfMessagesNotVisible"])
        return {
            "queue_depth": depth,
            "in_flight": in_flight,
            "dlq_depth": int(dead["ApproximateNumberOfMessages"]),
            "oldest_age_seconds": poller.oldest_age_seconds if depth + in_flight else 0.0,
        }

    def scale(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        poller, pool = self.pollers.get(name), self.pools.get(name)
        if poller is None or pool is None:
            raise ControlError(404, f"no worker function {name!r}")
        batch, maximum = body.get("batch_size"), body.get("maximum_concurrency")
        reserved = body.get("reserved_concurrency")
        for label, value in (("batch_size", batch), ("maximum_concurrency", maximum)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ControlError(422, f"{label}: a positive whole number")
        if reserved is not None and (
            not isinstance(reserved, int) or isinstance(reserved, bool) or reserved < 0
        ):
            raise ControlError(422, "reserved_concurrency: 0 or more, or null")
        assert isinstance(batch, int) and isinstance(maximum, int)
        with self._lock:
            self.maxima[name] = maximum
            self.reserved[name] = reserved
            effective = maximum if reserved is None else min(maximum, reserved)
            poller.resize(effective, batch)
            pool.set_limit(max(1, effective))
        self.log(
            f"{name}: scaling changed: batch size {batch}, maximum concurrency {maximum}, "
            f"reserved {'none' if reserved is None else reserved} -> {effective} poller(s), "
            f"pool limit {pool.limit}, {pool.size} runtime(s)"
        )
        return {
            "scaling": {"batch_size": batch, "maximum_concurrency": maximum, "reserved_concurrency": reserved}
        }


class ControlServer:
    def __init__(self, controls: StackControls, token: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.controls = controls
        self.token = token
        handler = _handler(self)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="control", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ControlServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(server: ControlServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            given = self.headers.get("Authorization", "")
            if hmac.compare_digest(given.encode(), f"Bearer {server.token}".encode()):
                return True
            self._answer(401, {"error": "the control endpoint needs the stack's own secret"})
            return False

        def do_GET(self) -> None:
            if not self._authorized():
                return
            if self.path != "/functions":
                self._answer(404, {"error": f"no {self.path}"})
                return
            self._answer(200, {"functions": server.controls.figures()})

        def do_PUT(self) -> None:
            if not self._authorized():
                return
            match = _SCALING.match(self.path)
            if match is None:
                self._answer(404, {"error": f"no {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                if not 0 < length <= MAX_BODY:
                    raise ControlError(400, "send a JSON object of at most 4 KB")
                body = json.loads(self.rfile.read(length))
                if not isinstance(body, dict):
                    raise ControlError(400, "send a JSON object")
                self._answer(200, server.controls.scale(match["name"], body))
            except ControlError as error:
                self._answer(error.status, {"error": str(error)})
            except ValueError:
                self._answer(400, {"error": "the body is not JSON"})

    return Handler
