"""What `queuefirst dev` prints once the stack is up: where everything is, and how to get a token."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from queuefirst.local.gateway.issuer import LocalIssuer
from queuefirst.local.stack.preflight import safe_url
from queuefirst.local.stack.running import Running
from queuefirst.model.principal import OPERATORS

# The operator token `dev` prints for the console: a working day.
CONSOLE_TOKEN_SECONDS = 8 * 3600


def summary(app: str, gateway_url: str, home: Path, running: Running, console: Sequence[str] = ()) -> str:
    """`console`: the admin console's lines (its address and an operator token), when it runs."""
    lines = [
        f"queuefirst dev: {app} is up",
        f"  api        {gateway_url}   (OpenAPI: {gateway_url}/openapi.json)",
        *console,
        "  tokens     send 'Authorization: Bearer <token>'; get one with",
        "               queuefirst token user <id>         (an end user: its id is the token's sub)",
        "               queuefirst token operator <name>  (an operator)",
        f"  postgres   {safe_url(running.database_url)}",
        f"  sqs        {running.sqs_url}",
        f"  data       {home}   (logs in {home / 'logs'})",
        "  functions",
    ]
    for name, pool in running.pools.items():
        size = f"{pool.spec.concurrency} runtime(s), up to {pool.spec.limit}"
        lines.append(f"    {name:<28} {size:<26} handler {pool.spec.handler}")
    lines.append("  queues")
    for entity, queues in running.queues.items():
        lines.append(f"    {entity:<28} {queues.url}  (dead letters: {queues.dlq_url.rsplit('/', 1)[-1]})")
    return "\n".join(lines)


def console_lines(gateway_url: str, issuer: LocalIssuer) -> list[str]:
    """The console's address and an operator token for whoever started `dev`."""
    operator = os.environ.get("USER") or "operator"
    token = issuer.mint(OPERATORS, operator, expires_in=CONSOLE_TOKEN_SECONDS)
    return [
        f"  console    {gateway_url}/admin/   sign in as {operator} with this operator token "
        f"({CONSOLE_TOKEN_SECONDS // 3600} h):",
        f"               {token}",
    ]
