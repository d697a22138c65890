"""The whole system on one machine: what `queuefirst dev` starts and stops.

Order matters and every step can be undone: ports are checked before
anything starts, and a failure part-way stops what already runs, so nothing
is left half-started.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from queuefirst.local.events import http_event
from queuefirst.local.gateway import make_gateway, serve_in_background
from queuefirst.local.poller import EventSourcePoller
from queuefirst.local.ports import port_in_use
from queuefirst.local.postgres import EmbeddedPostgres
from queuefirst.local.queues import EntityQueues, ensure_queues, queue_depth
from queuefirst.local.rie import RieError, rie_binary
from queuefirst.local.runtime import FunctionSpec, Invocation, RuntimePool, start_pools
from queuefirst.local.settings import DevSettings
from queuefirst.local.sqs import LocalSqs
from queuefirst.local.stats import Stats
from queuefirst.migrate import upgrade
from queuefirst.names import api_function_name, worker_function_name
from queuefirst.registry import Registry
from queuefirst.sender import sqs_client
from queuefirst.store.engine import make_engine

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from mypy_boto3_sqs import SQSClient

API_TIMEOUT_SECONDS = 29  # API Gateway's own integration limit


class StackError(RuntimeError):
    """Something the user can fix; the message says what and how."""


@dataclass
class DevStack:
    settings: DevSettings
    registry: Registry
    log: Callable[[str], None] = print
    container_command: Callable[[FunctionSpec, int], list[str]] | None = None
    reset: bool = False
    stats: Stats = field(init=False)
    postgres: EmbeddedPostgres | None = None
    sqs: LocalSqs | None = None
    pools: dict[str, RuntimePool] = field(default_factory=dict)
    pollers: list[EventSourcePoller] = field(default_factory=list)
    gateway: ThreadingHTTPServer | None = None
    queues: dict[str, EntityQueues] = field(default_factory=dict)
    database_url: str = ""
    sqs_url: str = ""
    client: SQSClient | None = None
    rie: Path = Path()
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def home(self) -> Path:
        return self.settings.home.resolve()

    @property
    def gateway_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def start(self) -> DevStack:
        self._preflight()
        try:
            self._start_database()
            self._start_sqs()
            self._start_functions()
            self._start_gateway()
        except BaseException:
            self.stop()
            raise
        self._write_state()
        return self

    # -- steps ------------------------------------------------------------------------

    def _preflight(self) -> None:
        if port_in_use(self.settings.port, self.settings.host):
            raise StackError(
                f"port {self.settings.port} is in use: stop what holds it or set QUEUEFIRST_PORT"
            )
        for port, variable in (
            (self.settings.pg_port, "QUEUEFIRST_PG_PORT"),
            (self.settings.sqs_port, "QUEUEFIRST_SQS_PORT"),
        ):
            if port and port_in_use(port):
                raise StackError(f"port {port} is in use: choose another with {variable}")
        self.settings.concurrency_overrides()  # refuse a malformed value before starting anything
        try:
            self.rie = rie_binary(self.home / "bin")
        except RieError as error:
            raise StackError(str(error)) from error

    def _start_database(self) -> None:
        if self.settings.database_url:
            self.database_url = self.settings.database_url
        else:
            data_dir = self.home / "postgres"
            if self.reset and data_dir.exists():
                shutil.rmtree(data_dir)
            self.postgres = EmbeddedPostgres(data_dir, port=self.settings.pg_port).start()
            self.database_url = self.postgres.url
        engine = make_engine(self.database_url, pool_size=1, connect_timeout=3)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            raise StackError(
                f"cannot reach PostgreSQL at {_safe(self.database_url)} "
                f"({type(getattr(error, 'orig', None) or error).__name__}): check DATABASE_URL"
            ) from error
        finally:
            engine.dispose()
        if self.reset and self.settings.database_url:
            self.log("--reset leaves a DATABASE_URL database as it is")
        upgrade(self.database_url)

    def _start_sqs(self) -> None:
        # Local endpoints accept any credentials; boto3 refuses to sign without some.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        if self.settings.sqs_endpoint_url:
            self.sqs_url = self.settings.sqs_endpoint_url
        else:
            self.sqs = LocalSqs(port=self.settings.sqs_port).start()
            self.sqs_url = self.sqs.url
        self.client = sqs_client(self.sqs_url, self.settings.region)
        try:
            self.client.list_queues()
        except Exception as error:
            raise StackError(
                f"cannot reach SQS at {self.sqs_url} ({type(error).__name__}): check SQS_ENDPOINT_URL"
            ) from error
        self.queues = ensure_queues(
            self.client, self.registry, visibility_timeout=self.settings.visibility_timeout or None
        )

    def _function_specs(self) -> list[FunctionSpec]:
        environment = {
            "DATABASE_URL": self.database_url,
            "SQS_ENDPOINT_URL": self.sqs_url,
            "AWS_REGION": self.settings.region,
        }
        specs = function_specs(
            self.registry, self.settings, environment, self.settings.concurrency_overrides()
        )
        if self.container_command is not None:
            make = self.container_command
            specs = [_in_container(spec, make) for spec in specs]
        return specs

    def _start_functions(self) -> None:
        self.pools = start_pools(self._function_specs(), self.rie, self.home / "logs")
        warmups = [
            threading.Thread(target=pool.warm, args=(_warmup_event(name, self.registry.app),))
            for name, pool in self.pools.items()
        ]
        for thread in warmups:
            thread.start()
        for thread in warmups:
            thread.join()
        assert self.client is not None
        for entity in self.registry.values():
            pool = self.pools[worker_function_name(self.registry.app, entity.name)]
            poller = EventSourcePoller(
                entity,
                self.queues[entity.name],
                self.client,
                pool,
                self.stats,
                self._report,
                self.settings.region,
            )
            self.pollers.append(poller.start())
        threading.Thread(target=self._watch_depths, name="depths", daemon=True).start()

    def _start_gateway(self) -> None:
        api = self.pools[api_function_name(self.registry.app)]

        def invoke(event: dict[str, Any]) -> Invocation:
            result = api.invoke(event)
            self.stats.record(api.spec.name, result.duration_ms, result.ok)
            status = result.payload.get("statusCode") if isinstance(result.payload, dict) else None
            self.log(
                f"{api.spec.name} {event['requestContext']['http']['method']} {event['rawPath']} "
                f"-> {status or 'error'} {result.duration_ms:.1f} ms"
                + (f" ({result.error})" if result.error else "")
            )
            return result

        try:
            self.gateway = make_gateway(self.settings.host, self.settings.port, invoke)
        except OSError as error:
            raise StackError(
                f"cannot listen on {self.gateway_url}: {error.strerror}; set QUEUEFIRST_PORT"
            ) from error
        serve_in_background(self.gateway)

    # -- running ----------------------------------------------------------------------

    def __post_init__(self) -> None:
        names = [api_function_name(self.registry.app)]
        names += [worker_function_name(self.registry.app, e) for e in self.registry]
        self.stats = Stats(names)

    def _report(self, result: Invocation, batch: int) -> None:
        outcome = "ok" if result.ok else f"error: {result.error}"
        if result.ok and isinstance(result.payload, dict) and result.payload.get("batchItemFailures"):
            outcome = f"partial: {len(result.payload['batchItemFailures'])} of {batch} failed"
        self.log(f"{result.function} batch of {batch} -> {outcome} {result.duration_ms:.1f} ms")

    def _watch_depths(self) -> None:
        assert self.client is not None
        while not self._stopping.wait(2):
            for entity, queues in self.queues.items():
                depth: int | None
                dead: int | None
                try:
                    depth = queue_depth(self.client, queues.url)
                    dead = queue_depth(self.client, queues.dlq_url)
                except Exception:
                    depth = dead = None
                self.stats.depths(worker_function_name(self.registry.app, entity), depth, dead)

    def _write_state(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        state = {
            "pid": os.getpid(),
            "gateway_url": self.gateway_url,
            "database_url": self.database_url,
            "sqs_endpoint_url": self.sqs_url,
            "region": self.settings.region,
            "functions": {
                name: {"pids": pool.pids(), "concurrency": pool.spec.concurrency}
                for name, pool in self.pools.items()
            },
        }
        path = self.home / "dev.json"
        path.touch(mode=0o600)  # it may hold a DATABASE_URL with a password
        path.chmod(0o600)
        path.write_text(json.dumps(state, indent=2))

    def summary(self) -> str:
        lines = [
            f"queuefirst dev: {self.registry.app} is up",
            f"  api        {self.gateway_url}   (OpenAPI: {self.gateway_url}/openapi.json)",
            f"  postgres   {_safe(self.database_url)}",
            f"  sqs        {self.sqs_url}",
            f"  data       {self.home}   (logs in {self.home / 'logs'})",
            "  functions",
        ]
        for name, pool in self.pools.items():
            lines.append(f"    {name:<28} {pool.spec.concurrency} runtime(s)  handler {pool.spec.handler}")
        lines.append("  queues")
        for entity, queues in self.queues.items():
            lines.append(
                f"    {entity:<28} {queues.url}  (dead letters: {queues.dlq_url.rsplit('/', 1)[-1]})"
            )
        return "\n".join(lines)

    def stop(self) -> None:
        self._stopping.set()
        if self.gateway is not None:
            self.gateway.shutdown()
            self.gateway.server_close()
        for poller in self.pollers:
            poller.stop_event.set()
        for poller in self.pollers:
            poller.stop()
        for pool in self.pools.values():
            pool.stop()
        if self.sqs is not None:
            self.sqs.stop()
        if self.postgres is not None:
            self.postgres.stop()
        state = self.home / "dev.json"
        if state.exists():
            state.unlink()


def function_specs(
    registry: Registry, settings: DevSettings, environment: dict[str, str], overrides: dict[str, int]
) -> list[FunctionSpec]:
    """The api and one worker per entity, as `dev` and `invoke` run them.

    `overrides` sizes pools by entity or function name (`orders=4`, `api=2`).
    """
    app = registry.app
    common = {**environment, "QUEUEFIRST_APP": app, "POWERTOOLS_METRICS_NAMESPACE": "queuefirst-local"}
    api = api_function_name(app)
    specs = [
        FunctionSpec(
            api,
            settings.api_handler,
            dict(common),
            API_TIMEOUT_SECONDS,
            512,
            overrides.get("api", overrides.get(api, settings.api_concurrency)),
        )
    ]
    for entity in registry.values():
        name = worker_function_name(app, entity.name)
        specs.append(
            FunctionSpec(
                name,
                settings.worker_handler,
                {**common, "QUEUEFIRST_ENTITY": entity.name},
                entity.scaling.timeout_seconds,
                entity.scaling.memory_mb,
                overrides.get(entity.name, overrides.get(name, entity.scaling.local_concurrency)),
            )
        )
    return specs


def _warmup_event(function: str, app: str) -> dict[str, Any]:
    if function == api_function_name(app):
        return http_event("GET", "/openapi.json")
    return {"Records": []}


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _in_container(spec: FunctionSpec, make: Callable[[FunctionSpec, int], list[str]]) -> FunctionSpec:
    from dataclasses import replace

    return replace(spec, container_command=lambda port: make(spec, port))
