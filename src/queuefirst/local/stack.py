"""The whole system on one machine: what `queuefirst dev` starts and stops.

Order matters and every step can be undone: ports are checked before
anything starts, and a failure part-way stops what already runs, so nothing
is left half-started. What the stack is asked to run (`DevStack`'s fields)
is kept apart from what it runs (`Running`), which `stop` takes down in
reverse.
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from queuefirst.local.control import ControlServer, StackControls
from queuefirst.local.events import http_event
from queuefirst.local.functions import FunctionSpec, function_specs
from queuefirst.local.gateway import Gateway
from queuefirst.local.http_server import GatewayServer
from queuefirst.local.issuer import LocalIssuer
from queuefirst.local.launchers import Launcher, ProcessLauncher
from queuefirst.local.poller import EventSourcePoller
from queuefirst.local.ports import port_in_use
from queuefirst.local.postgres import EmbeddedPostgres
from queuefirst.local.queues import EntityQueues, ensure_queues
from queuefirst.local.rie import RieError, rie_binary
from queuefirst.local.routing import RouteTable, Routing
from queuefirst.local.runtime import Invocation, RuntimePool, start_pools
from queuefirst.local.settings import DevSettings
from queuefirst.local.sqs import LocalSqs
from queuefirst.local.state import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, DevState, FunctionState
from queuefirst.local.stats import Stats
from queuefirst.local.summary import safe_url, summary
from queuefirst.model.application import Application
from queuefirst.model.http_routes import HttpRoute, admin_routes, api_routes
from queuefirst.model.names import admin_function_name, api_function_name, worker_function_name
from queuefirst.model.principal import AUTHORIZERS, OPERATORS, issuer_variable
from queuefirst.runtime.dead_letters import queue_depth
from queuefirst.runtime.sender import sqs_client
from queuefirst.store.engine import make_engine
from queuefirst.store.migrate import upgrade

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

DEPTH_POLL_SECONDS = 2
# The operator token `dev` prints for the console: a working day.
CONSOLE_TOKEN_SECONDS = 8 * 3600


class StackError(RuntimeError):
    """Something the user can fix; the message says what and how."""


@dataclass
class Running:
    """Everything the stack has started, so `stop` can take it down."""

    postgres: EmbeddedPostgres | None = None
    sqs: LocalSqs | None = None
    database_url: str = ""
    sqs_url: str = ""
    client: SQSClient | None = None
    queues: dict[str, EntityQueues] = field(default_factory=dict)
    pools: dict[str, RuntimePool] = field(default_factory=dict)
    pollers: list[EventSourcePoller] = field(default_factory=list)
    gateway: GatewayServer | None = None
    # What the admin console's operations page reads and changes (local/control.py).
    control: ControlServer | None = None


@dataclass
class DevStack:
    settings: DevSettings
    application: Application
    log: Callable[[str], None] = print
    # None: processes on this machine (RIE + awslambdaric); `--images`: containers.
    launcher: Launcher | None = None
    reset: bool = False
    running: Running = field(default_factory=Running, init=False)
    stats: Stats = field(init=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        self.registry = self.application.registry()
        app = self.registry.app
        console = [admin_function_name(app)] if self.settings.admin_handler else []
        self.stats = Stats(
            [api_function_name(app), *console, *(worker_function_name(app, e) for e in self.registry)]
        )
        self.controls = StackControls(self.stats, log=self.log)

    @property
    def home(self) -> Path:
        return self.settings.home.resolve()

    @property
    def gateway_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def issuer(self) -> LocalIssuer:
        """The local user pools' issuer: its keys live in QUEUEFIRST_HOME, so tokens outlive a restart."""
        return LocalIssuer(self.home, self.registry.app)

    def http_routes(self) -> list[HttpRoute]:
        """Every route the gateway serves, with its function and authorizer (functions add theirs here)."""
        console = admin_routes(self.registry) if self.settings.admin_handler else []
        return [*api_routes(self.registry), *console]

    def start(self) -> DevStack:
        launcher = self._preflight()
        try:
            self._start_database()
            self._start_sqs()
            self._start_control()
            self._start_functions(launcher)
            self._start_gateway()
        except BaseException:
            self.stop()
            raise
        self._state().write(self.home)
        return self

    # -- steps ------------------------------------------------------------------------

    def _preflight(self) -> Launcher:
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
        if self.launcher is not None:
            return self.launcher
        try:
            return ProcessLauncher(rie_binary(self.home / "bin"))
        except RieError as error:
            raise StackError(str(error)) from error

    def _start_database(self) -> None:
        running = self.running
        if self.settings.database_url:
            running.database_url = self.settings.database_url
        else:
            data_dir = self.home / "postgres"
            if self.reset and data_dir.exists():
                shutil.rmtree(data_dir)
            running.postgres = EmbeddedPostgres(data_dir, port=self.settings.pg_port).start()
            running.database_url = running.postgres.url
        _check_database(running.database_url)
        if self.reset and self.settings.database_url:
            self.log("--reset leaves a DATABASE_URL database as it is")
        upgrade(running.database_url, self.application)

    def _start_sqs(self) -> None:
        running = self.running
        os.environ.setdefault("AWS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY)
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", LOCAL_SECRET_KEY)
        if self.settings.sqs_endpoint_url:
            running.sqs_url = self.settings.sqs_endpoint_url
        else:
            running.sqs = LocalSqs(port=self.settings.sqs_port).start()
            running.sqs_url = running.sqs.url
        running.client = sqs_client(running.sqs_url, self.settings.region)
        try:
            running.client.list_queues()
        except Exception as error:
            raise StackError(
                f"cannot reach SQS at {running.sqs_url} ({type(error).__name__}): check SQS_ENDPOINT_URL"
            ) from error
        running.queues = ensure_queues(
            running.client, self.registry, visibility_timeout=self.settings.visibility_timeout or None
        )

    def _start_control(self) -> None:
        self.controls.client = self.running.client
        self.controls.queues = self.running.queues
        # Only the admin function gets the secret: nothing else on this machine may rescale.
        self.running.control = ControlServer(self.controls, secrets.token_urlsafe(32)).start()

    def function_specs(self) -> list[FunctionSpec]:
        environment = {
            "DATABASE_URL": self.running.database_url,
            "SQS_ENDPOINT_URL": self.running.sqs_url,
            "AWS_REGION": self.settings.region,
            "QUEUEFIRST_APPLICATION": self.application.package,
            # The issuers the gateway's authorizers trust, so a function can tell whose claims it holds.
            **{issuer_variable(kind): self.issuer.issuer(kind) for kind in AUTHORIZERS},
        }
        control = self.running.control
        admin = None
        if self.settings.admin_handler:
            admin = (
                self.settings.admin_handler,
                {
                    "QUEUEFIRST_LOCAL_CONTROL_URL": control.url if control else "",
                    "QUEUEFIRST_LOCAL_CONTROL_TOKEN": control.token if control else "",
                },
            )
        return function_specs(
            self.registry,
            handlers=(self.settings.api_handler, self.settings.worker_handler),
            environment=environment,
            api_concurrency=self.settings.api_concurrency,
            overrides=self.settings.concurrency_overrides(),
            api_limit=self.settings.api_limit,
            admin=admin,
        )

    def _start_functions(self, launcher: Launcher) -> None:
        running = self.running
        running.pools = start_pools(self.function_specs(), launcher, self.home / "logs", self._grown)
        for name, pool in running.pools.items():
            self.stats.runtimes(name, pool.size)
        warmups = [
            threading.Thread(target=pool.warm, args=(_warmup_event(pool.spec),))
            for pool in running.pools.values()
        ]
        for thread in warmups:
            thread.start()
        for thread in warmups:
            thread.join()
        assert running.client is not None
        for entity in self.registry.values():
            pool = running.pools[worker_function_name(self.registry.app, entity.name)]
            poller = EventSourcePoller(
                entity,
                running.queues[entity.name],
                running.client,
                pool,
                self.stats,
                self._report,
                self.settings.region,
                self.log,
            )
            running.pollers.append(poller.start())
            self.controls.pollers[pool.spec.name] = poller
        self.controls.pools = dict(running.pools)
        threading.Thread(target=self._watch_depths, name="depths", daemon=True).start()

    def _invoker(self, pool: RuntimePool) -> Callable[[dict[str, Any], float], Invocation]:
        """The gateway's way into one function's pool: invoke, count, log a line."""

        def invoke(event: dict[str, Any], wait: float) -> Invocation:
            try:
                result = pool.invoke(event, wait=wait)
            except queue.Empty:
                raise TimeoutError(f"no {pool.spec.name} runtime came free in time") from None
            self.stats.record(pool.spec.name, result.duration_ms, result.ok)
            status = result.payload.get("statusCode") if isinstance(result.payload, dict) else None
            self.log(
                f"{pool.spec.name} {event['requestContext']['http']['method']} {event['rawPath']} "
                f"-> {status or 'error'} {result.duration_ms:.1f} ms"
                + (f" ({result.error})" if result.error else "")
            )
            return result

        return invoke

    def _start_gateway(self) -> None:
        app = self.registry.app
        served = [api_function_name(app), admin_function_name(app)]
        pools = {name: self.running.pools[name] for name in served if name in self.running.pools}
        invokers = {name: self._invoker(pool) for name, pool in pools.items()}
        api = pools[api_function_name(app)]
        # Each route to its function, behind its authorizer (the local issuer's keys).
        routing = Routing(RouteTable(self.http_routes()), invokers, self.issuer.authorizers())
        # One gateway thread per runtime the served pools may grow to: every runtime
        # can be busy at once, and a waiting thread is what makes a pool grow.
        workers = sum(pool.spec.limit for pool in pools.values())
        gateway = Gateway(invokers[api.spec.name], workers=workers, routing=routing)
        try:
            self.running.gateway = GatewayServer(gateway, self.settings.host, self.settings.port).start()
        except OSError as error:
            gateway.close()
            raise StackError(
                f"cannot listen on {self.gateway_url}: {error.strerror}; set QUEUEFIRST_PORT"
            ) from error

    # -- running ----------------------------------------------------------------------

    def _grown(self, pool: RuntimePool) -> None:
        self.stats.runtimes(pool.spec.name, pool.size)
        self.log(f"{pool.spec.name}: {pool.size} runtime(s) (limit {pool.limit})")
        if not self._stopping.is_set():
            self._state().write(self.home)

    def _report(self, result: Invocation, batch: int) -> None:
        outcome = "ok" if result.ok else f"error: {result.error}"
        if result.ok and isinstance(result.payload, dict) and result.payload.get("batchItemFailures"):
            outcome = f"partial: {len(result.payload['batchItemFailures'])} of {batch} failed"
        self.log(f"{result.function} batch of {batch} -> {outcome} {result.duration_ms:.1f} ms")

    def _watch_depths(self) -> None:
        client = self.running.client
        assert client is not None
        while not self._stopping.wait(DEPTH_POLL_SECONDS):
            for entity, queues in self.running.queues.items():
                function = worker_function_name(self.registry.app, entity)
                depth: int | None
                dead: int | None
                try:
                    depth, dead = queue_depth(client, queues.url), queue_depth(client, queues.dlq_url)
                except Exception as error:
                    self.log(f"{entity}: queue depth unknown ({type(error).__name__}: {error})")
                    depth = dead = None
                self.stats.depths(function, depth, dead)

    def _state(self) -> DevState:
        return DevState(
            pid=os.getpid(),
            gateway_url=self.gateway_url,
            database_url=self.running.database_url,
            sqs_endpoint_url=self.running.sqs_url,
            region=self.settings.region,
            functions={
                name: FunctionState(pids=pool.pids(), concurrency=pool.spec.concurrency)
                for name, pool in self.running.pools.items()
            },
        )

    def summary(self) -> str:
        return summary(self.registry.app, self.gateway_url, self.home, self.running, self._console_lines())

    def _console_lines(self) -> list[str]:
        if not self.settings.admin_handler:
            return []
        operator = os.environ.get("USER") or "operator"
        token = self.issuer.mint(OPERATORS, operator, expires_in=CONSOLE_TOKEN_SECONDS)
        return [
            f"  console    {self.gateway_url}/admin/   sign in as {operator} with this operator token "
            f"({CONSOLE_TOKEN_SECONDS // 3600} h):",
            f"               {token}",
        ]

    def stop(self) -> None:
        self._stopping.set()
        running = self.running
        if running.gateway is not None:
            running.gateway.stop()  # requests in flight finish before their runtimes stop
        for poller in running.pollers:
            poller.stop_event.set()
        for poller in running.pollers:
            poller.stop()
        for pool in running.pools.values():
            pool.stop()
        if running.control is not None:
            running.control.stop()
        if running.sqs is not None:
            running.sqs.stop()
        if running.postgres is not None:
            running.postgres.stop()
        DevState.remove(self.home)


def _check_database(url: str) -> None:
    engine = make_engine(url, pool_size=1, connect_timeout=3)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise StackError(
            f"cannot reach PostgreSQL at {safe_url(url)} "
            f"({type(getattr(error, 'orig', None) or error).__name__}): check DATABASE_URL"
        ) from error
    finally:
        engine.dispose()


def _warmup_event(spec: FunctionSpec) -> dict[str, Any]:
    if spec.name.endswith("-admin"):
        return http_event("GET", "/admin/login")
    if spec.entity is None:
        return http_event("GET", "/openapi.json")
    return {"Records": []}
