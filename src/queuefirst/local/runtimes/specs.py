"""The functions of an application as the local stack runs them: the api and one worker per entity."""

from __future__ import annotations

from dataclasses import dataclass

from queuefirst.model.limits import HTTP_API_TIMEOUT_SECONDS
from queuefirst.model.names import admin_function_name, api_function_name, worker_function_name
from queuefirst.model.registry import Registry

# The AWS account the local functions run in, as ARNs and request contexts name it
# (the zero account of AWS's own sample events).
ACCOUNT = "000000000000"
API_MEMORY_MB = 512
ADMIN_MEMORY_MB = 512
# The console serves one operator at a time, mostly: one warm runtime, a second when busy.
ADMIN_CONCURRENCY, ADMIN_LIMIT = 1, 2


@dataclass(frozen=True)
class FunctionSpec:
    """What a function needs to run locally: its handler, environment and limits."""

    name: str
    handler: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    concurrency: int  # instances started (and warmed) with the stack
    entity: str | None = None
    limit: int = 0  # instances at most, as Lambda's concurrency limit (0: `concurrency`)

    def __post_init__(self) -> None:
        if self.limit < self.concurrency:
            object.__setattr__(self, "limit", self.concurrency)


def function_specs(
    registry: Registry,
    *,
    handlers: tuple[str, str],
    environment: dict[str, str],
    api_concurrency: int,
    overrides: dict[str, int],
    api_limit: int = 0,
    admin: tuple[str, dict[str, str]] | None = None,
) -> list[FunctionSpec]:
    """The api and one worker per entity, as `dev` and `invoke` run them.

    `handlers` are the api's and the workers'; `overrides` sizes the warm
    pools by entity or function name (`orders=4`, `api=2`). A pool grows on
    demand up to its limit: the api's `api_limit`, a worker's maximum
    concurrency (its event source never runs more at once). `admin` is the
    console's handler and its own environment, when it runs too.
    """
    api_handler, worker_handler = handlers
    common = {**environment, "POWERTOOLS_METRICS_NAMESPACE": "queuefirst-local"}
    api = api_function_name(registry.app)
    specs = [
        FunctionSpec(
            api,
            api_handler,
            dict(common),
            HTTP_API_TIMEOUT_SECONDS,
            API_MEMORY_MB,
            overrides.get("api", overrides.get(api, api_concurrency)),
            limit=api_limit,
        )
    ]
    if admin is not None:
        handler, own = admin
        name = admin_function_name(registry.app)
        specs.append(
            FunctionSpec(
                name,
                handler,
                {**common, **own},
                HTTP_API_TIMEOUT_SECONDS,
                ADMIN_MEMORY_MB,
                overrides.get("admin", overrides.get(name, ADMIN_CONCURRENCY)),
                limit=ADMIN_LIMIT,
            )
        )
    for entity in registry.values():
        name = worker_function_name(registry.app, entity.name)
        specs.append(
            FunctionSpec(
                name,
                worker_handler,
                {
                    **common,
                    "QUEUEFIRST_ENTITY": entity.name,
                    "QUEUEFIRST_SENDS_TO": ",".join(registry.sends_to(entity.name)),
                },
                entity.scaling.timeout_seconds,
                entity.scaling.memory_mb,
                overrides.get(entity.name, overrides.get(name, entity.scaling.local_concurrency)),
                entity.name,
                entity.scaling.maximum_concurrency,
            )
        )
    return specs


def find_spec(specs: list[FunctionSpec], app: str, wanted: str) -> FunctionSpec | None:
    """`api`, `<app>-api`, `admin`; `<entity>`, `worker-<entity>`, `<app>-<entity>-worker`."""
    wanted = wanted.removeprefix("worker-")
    for spec in specs:
        if wanted in (spec.name, spec.name.removeprefix(f"{app}-"), spec.entity):
            return spec
    return None
