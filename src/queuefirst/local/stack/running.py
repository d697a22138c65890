"""What a running stack has started: what `stop` takes down, and `summary` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from queuefirst.local.eventsource.poller import EventSourcePoller
from queuefirst.local.gateway.server import GatewayServer
from queuefirst.local.runtimes.pool import RuntimePool
from queuefirst.local.servers.postgres import EmbeddedPostgres
from queuefirst.local.servers.queues import EntityQueues
from queuefirst.local.servers.sqs import LocalSqs
from queuefirst.local.stack.control import ControlServer

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


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
    # What the admin console's operations page reads and changes (stack/control.py).
    control: ControlServer | None = None
