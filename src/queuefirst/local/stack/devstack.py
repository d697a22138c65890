"""The whole system on one machine: what `queuefirst dev` starts and stops.

Order matters and every step can be undone: ports are checked before
anything starts, and a failure part-way stops what already runs, so nothing
is left half-started. What the stack is asked to run (`DevStack`'s fields)
is kept apart from what it runs (`Running`, in `running.py`, which the
summary reads too), which `stop` takes down in reverse.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from queuefirst.local.eventsource.poller import EventSourcePoller
from queuefirst.local.gateway.events import http_event
from queuefirst.local.gateway.issuer import LocalIssuer
from queuefirst.local.gateway.serving import start_gateway
from queuefirst.local.runtimes.instance import Invocation
from queuefirst.local.runtimes.launchers import Launcher, ProcessLauncher
from queuefirst.local.runtimes.pool import RuntimePool, start_pools
from queuefirst.local.runtimes.rie import RieError, rie_binary
from queuefirst.local.runtimes.specs import FunctionSpec, function_specs
from queuefirst.local.runtimes.stats import DepthWatcher, Stats
from queuefirst.local.servers.postgres import EmbeddedPostgres
from queuefirst.local.servers.queues import ensure_queues
from queuefirst.local.servers.sqs import LocalSqs
from queuefirst.local.stack.control import ControlServer, StackControls
from queuefirst.local.stack.preflight import StackError, check_database, check_ports, check_sqs, migrate
from queuefirst.local.stack.running import Running
from queuefirst.local.stack.settings import DevSettings
from queuefirst.local.stack.state import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, DevState, FunctionState
from queuefirst.local.stack.summary import console_lines, summary
from queuefirst.model.application import Application
from queuefirst.model.http_routes import HttpRoute, admin_routes, api_routes
from queuefirst.model.names import admin_function_name, api_function_name, worker_function_name
from queuefirst.model.principal import AUTHORIZERS, issuer_variable
from queuefirst.runtime.sender import sqs_client


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
    # Pools grow on threads of their own: one dev.json write at a time, the newest state last.
    _state_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

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
        self._write_state()
        return self

    # -- steps ------------------------------------------------------------------------

    def _preflight(self) -> Launcher:
        check_ports(self.settings)
        self.settings.concurrency_overrides()  # refuse a malformed value before starting anything
        if self.launcher is not None:
            return self.launcher
        try:
            return ProcessLauncher(rie_binary(self.home / "bin"))
        except RieError as error:
            raise StackError(str(error)) from error

    def _start_database(self) -> None:
        running = self.running
        data_dir = self.home / "postgres"
        if self.settings.database_url:
            running.database_url = self.settings.database_url
        else:
            if self.reset and data_dir.exists():
                shutil.rmtree(data_dir)
            running.postgres = EmbeddedPostgres(data_dir, port=self.settings.pg_port).start()
            running.database_url = running.postgres.url
        check_database(running.database_url)
        if self.reset and self.settings.database_url:
            self.log("--reset leaves a DATABASE_URL database as it is")
        migrate(running.database_url, self.application, None if self.settings.database_url else data_dir)

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
        check_sqs(running.client, running.sqs_url)
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
            threading.Thread(target=pool.warm, args=(warmup_event(pool.spec),))
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
        watcher = DepthWatcher(self.stats, running.client, running.queues, self.registry.app, self.log)
        threading.Thread(target=watcher.run, args=(self._stopping,), name="depths", daemon=True).start()

    def _start_gateway(self) -> None:
        app = self.registry.app
        served = [api_function_name(app), admin_function_name(app)]
        pools = {name: self.running.pools[name] for name in served if name in self.running.pools}
        try:
            self.running.gateway = start_gateway(
                pools,
                api_function_name(app),
                self.http_routes(),
                self.issuer.authorizers(),
                self.stats,
                self.log,
                (self.settings.host, self.settings.port),
            )
        except OSError as error:
            raise StackError(
                f"cannot listen on {self.gateway_url}: {error.strerror}; set QUEUEFIRST_PORT"
            ) from error

    # -- running ----------------------------------------------------------------------

    def _grown(self, pool: RuntimePool) -> None:
        self.stats.runtimes(pool.spec.name, pool.size)
        self.log(f"{pool.spec.name}: {pool.size} runtime(s) (limit {pool.limit})")
        if not self._stopping.is_set():
            self._write_state()

    def _report(self, result: Invocation, batch: int) -> None:
        outcome = "ok" if result.ok else f"error: {result.error}"
        if result.ok and isinstance(result.payload, dict) and result.payload.get("batchItemFailures"):
            outcome = f"partial: {len(result.payload['batchItemFailures'])} of {batch} failed"
        self.log(f"{result.function} batch of {batch} -> {outcome} {result.duration_ms:.1f} ms")

    def _write_state(self) -> None:
        with self._state_lock:
            self._state().write(self.home)

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
        console = console_lines(self.gateway_url, self.issuer) if self.settings.admin_handler else []
        return summary(self.registry.app, self.gateway_url, self.home, self.running, console)

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


def warmup_event(spec: FunctionSpec) -> dict[str, Any]:
    """An event each function answers without touching data: sent once to every runtime at start."""
    if spec.name.endswith("-admin"):
        return http_event("GET", "/admin/login")
    if spec.entity is None:
        return http_event("GET", "/openapi.json")
    return {"Records": []}
