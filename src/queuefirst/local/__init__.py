"""The local stack (`queuefirst dev`): the whole system on one machine, no cloud, no Docker.

Its parts, each a subpackage, each depending only on the ones above it:

    servers/      what stands in for AWS's services: embedded PostgreSQL, moto's SQS
                  server with its fixes (its own process), the entities' queues
    runtimes/     each function as a pool of real Lambda runtimes (AWS's Runtime
                  Interface Emulator around awslambdaric), what each is, its figures
    gateway/      the HTTP API in front of the api's and the console's pools: uvicorn,
                  API Gateway's routing, its JWT authorizers, the local token issuer
    eventsource/  one SQS event source mapping per worker: the pollers, their events
    stack/        starting, watching and stopping it all: settings, the checks that
                  say what to fix, dev.json, the summary, the console's control endpoint

This module is the front door: the tools (`queuefirst dev` and the other
commands), the tests and the benchmarks import these names from here, never
from the modules below, which may move. Each name is imported when first
asked for, not with the package: the processes the stack starts import one
corner of it each (`python -m queuefirst.local.servers.sqs_server` runs moto
alone) and must not wait for the rest (uvicorn, SQLAlchemy, the gateway).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names as _HOMES, for the type checker
    from queuefirst.local.eventsource.records import queue_arn as queue_arn
    from queuefirst.local.eventsource.records import sqs_event as sqs_event
    from queuefirst.local.gateway.app import Gateway as Gateway
    from queuefirst.local.gateway.authorizer import Denied as Denied
    from queuefirst.local.gateway.authorizer import JwtAuthorizer as JwtAuthorizer
    from queuefirst.local.gateway.authorizer import claim_text as claim_text
    from queuefirst.local.gateway.authorizer import event_claims as event_claims
    from queuefirst.local.gateway.events import http_event as http_event
    from queuefirst.local.gateway.issuer import DEFAULT_LIFETIME_SECONDS as DEFAULT_LIFETIME_SECONDS
    from queuefirst.local.gateway.issuer import LocalIssuer as LocalIssuer
    from queuefirst.local.gateway.routing import Invoke as Invoke
    from queuefirst.local.gateway.routing import RouteTable as RouteTable
    from queuefirst.local.gateway.routing import Routing as Routing
    from queuefirst.local.gateway.server import GatewayServer as GatewayServer
    from queuefirst.local.runtimes.instance import INVOKE_PATH as INVOKE_PATH
    from queuefirst.local.runtimes.instance import Invocation as Invocation
    from queuefirst.local.runtimes.instance import RuntimeInstance as RuntimeInstance
    from queuefirst.local.runtimes.launchers import ContainerLauncher as ContainerLauncher
    from queuefirst.local.runtimes.launchers import LaunchError as LaunchError
    from queuefirst.local.runtimes.launchers import ProcessLauncher as ProcessLauncher
    from queuefirst.local.runtimes.pool import RuntimePool as RuntimePool
    from queuefirst.local.runtimes.rie import rie_binary as rie_binary
    from queuefirst.local.runtimes.specs import FunctionSpec as FunctionSpec
    from queuefirst.local.runtimes.specs import find_spec as find_spec
    from queuefirst.local.runtimes.specs import function_specs as function_specs
    from queuefirst.local.servers.ports import free_port as free_port
    from queuefirst.local.servers.postgres import EmbeddedPostgres as EmbeddedPostgres
    from queuefirst.local.servers.postgres import scratch_postgres as scratch_postgres
    from queuefirst.local.servers.queues import EntityQueues as EntityQueues
    from queuefirst.local.servers.queues import ensure_queues as ensure_queues
    from queuefirst.local.servers.sqs import LocalSqs as LocalSqs
    from queuefirst.local.stack.devstack import DevStack as DevStack
    from queuefirst.local.stack.preflight import StackError as StackError
    from queuefirst.local.stack.settings import DevSettings as DevSettings
    from queuefirst.local.stack.state import DevState as DevState
    from queuefirst.local.stack.state import FunctionState as FunctionState

# Each name -> the module that defines it (a test holds this table and the block above equal).
_HOMES = {
    "queue_arn": "eventsource.records",
    "sqs_event": "eventsource.records",
    "Gateway": "gateway.app",
    "Denied": "gateway.authorizer",
    "JwtAuthorizer": "gateway.authorizer",
    "claim_text": "gateway.authorizer",
    "event_claims": "gateway.authorizer",
    "http_event": "gateway.events",
    "DEFAULT_LIFETIME_SECONDS": "gateway.issuer",
    "LocalIssuer": "gateway.issuer",
    "Invoke": "gateway.routing",
    "RouteTable": "gateway.routing",
    "Routing": "gateway.routing",
    "GatewayServer": "gateway.server",
    "INVOKE_PATH": "runtimes.instance",
    "Invocation": "runtimes.instance",
    "RuntimeInstance": "runtimes.instance",
    "ContainerLauncher": "runtimes.launchers",
    "LaunchError": "runtimes.launchers",
    "ProcessLauncher": "runtimes.launchers",
    "RuntimePool": "runtimes.pool",
    "rie_binary": "runtimes.rie",
    "FunctionSpec": "runtimes.specs",
    "find_spec": "runtimes.specs",
    "function_specs": "runtimes.specs",
    "free_port": "servers.ports",
    "EmbeddedPostgres": "servers.postgres",
    "scratch_postgres": "servers.postgres",
    "EntityQueues": "servers.queues",
    "ensure_queues": "servers.queues",
    "LocalSqs": "servers.sqs",
    "DevStack": "stack.devstack",
    "StackError": "stack.preflight",
    "DevSettings": "stack.settings",
    "DevState": "stack.state",
    "FunctionState": "stack.state",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # asked once: later lookups never come back here
    return value


def __dir__() -> list[str]:
    return __all__
