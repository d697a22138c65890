"""The gateway in front of the function pools that serve HTTP: the api's and the console's.

Each route goes to its function's pool behind its authorizer; every
invocation is counted and logged as one line.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from queuefirst.local.gateway.app import Gateway
from queuefirst.local.gateway.authorizer import JwtAuthorizer
from queuefirst.local.gateway.routing import Invoke, RouteTable, Routing
from queuefirst.local.gateway.server import GatewayServer
from queuefirst.local.runtimes.instance import Invocation
from queuefirst.local.runtimes.pool import RuntimePool
from queuefirst.local.runtimes.stats import Stats
from queuefirst.model.http_routes import HttpRoute


def invoker(pool: RuntimePool, stats: Stats, log: Callable[[str], None]) -> Invoke:
    """The gateway's way into one function's pool: invoke, count, log a line."""

    def invoke(event: dict[str, Any], wait: float) -> Invocation:
        try:
            result = pool.invoke(event, wait=wait)
        except queue.Empty:
            raise TimeoutError(f"no {pool.spec.name} runtime came free in time") from None
        stats.record(pool.spec.name, result.duration_ms, result.ok)
        status = result.payload.get("statusCode") if isinstance(result.payload, dict) else None
        log(
            f"{pool.spec.name} {event['requestContext']['http']['method']} {event['rawPath']} "
            f"-> {status or 'error'} {result.duration_ms:.1f} ms"
            + (f" ({result.error})" if result.error else "")
        )
        return result

    return invoke


def start_gateway(
    pools: Mapping[str, RuntimePool],
    default: str,
    routes: Sequence[HttpRoute],
    authorizers: Mapping[str, JwtAuthorizer],
    stats: Stats,
    log: Callable[[str], None],
    address: tuple[str, int],
) -> GatewayServer:
    """Serve `routes` on `address`, each to its pool in `pools` (`default`: the api's,
    for what no route names). Raises OSError when the address cannot be had."""
    invokers = {name: invoker(pool, stats, log) for name, pool in pools.items()}
    routing = Routing(RouteTable(list(routes)), invokers, authorizers)
    # One gateway thread per runtime the served pools may grow to: every runtime
    # can be busy at once, and a waiting thread is what makes a pool grow.
    workers = sum(pool.spec.limit for pool in pools.values())
    gateway = Gateway(invokers[default], workers=workers, routing=routing)
    try:
        return GatewayServer(gateway, *address).start()
    except OSError:
        gateway.close()
        raise
