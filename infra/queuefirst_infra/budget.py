"""The database connection budget: every function at full concurrency must fit the proxy.

Each running instance of a function holds up to ``db_pool_size`` connections
to the proxy. Workers run at most ``maximum_concurrency`` instances (the SQS
event source's cap), the api at most its reserved concurrency. The proxy may
open ``proxy_max_connections_percent`` of the cluster's ``max_connections``.
The migrations function connects to the cluster directly, once, and uses the
share the proxy leaves.
"""

from __future__ import annotations

from dataclasses import dataclass

from queuefirst.model import names
from queuefirst.model.registry import Registry
from queuefirst_infra.config import InfraConfig
from queuefirst_infra.errors import InfraConfigError


@dataclass(frozen=True)
class Demand:
    function: str
    concurrency: int
    connections_per_instance: int

    @property
    def connections(self) -> int:
        return self.concurrency * self.connections_per_instance


def demands(registry: Registry, config: InfraConfig) -> list[Demand]:
    pool = config.db_pool_size
    result = [Demand(names.api_function_name(registry.app), config.api_reserved_concurrency, pool)]
    for entity in registry.values():
        concurrency = entity.scaling.maximum_concurrency
        result.append(Demand(names.worker_function_name(registry.app, entity.name), concurrency, pool))
    return result


def proxy_budget(config: InfraConfig) -> int:
    return config.db_max_connections * config.proxy_max_connections_percent // 100


def check_connection_budget(registry: Registry, config: InfraConfig) -> None:
    needed = demands(registry, config)
    total = sum(d.connections for d in needed)
    budget = proxy_budget(config)
    if total > budget:
        detail = ", ".join(f"{d.function} {d.concurrency}x{d.connections_per_instance}" for d in needed)
        raise InfraConfigError(
            f"connection budget exceeded: functions need {total} connections ({detail}) but the "
            f"proxy allows {budget} (db_max_connections {config.db_max_connections} x "
            f"proxy_max_connections_percent {config.proxy_max_connections_percent}%)"
        )
