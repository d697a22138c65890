"""`queuefirst invoke`: one invocation of one function in a real runtime (RIE + awslambdaric)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from queuefirst.local import (
    DevSettings,
    ProcessLauncher,
    RuntimeInstance,
    find_spec,
    function_specs,
    rie_binary,
)
from queuefirst.model.application import load_application
from queuefirst.ops.endpoints import find_endpoints


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("invoke", help="invoke one function once in a real runtime")
    parser.add_argument("function", help="api, or an entity (customers), or a function name")
    parser.add_argument("event", type=Path, help="event JSON file ('-' for stdin)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = DevSettings()
    application = load_application()
    registry = application.registry()
    found = find_endpoints()
    event = json.loads(sys.stdin.read() if str(args.event) == "-" else args.event.read_text())
    environment = {
        "DATABASE_URL": found.database_url or "",
        "AWS_REGION": found.region,
        "SQS_ENDPOINT_URL": found.sqs_endpoint_url or "",
        "QUEUEFIRST_APPLICATION": application.package,
    }
    specs = function_specs(
        registry,
        handlers=(settings.api_handler, settings.worker_handler),
        environment={k: v for k, v in environment.items() if v},
        api_concurrency=1,
        overrides={},
    )
    spec = find_spec(specs, registry.app, args.function)
    if spec is None:
        raise ValueError(f"unknown function {args.function!r}: api or one of {', '.join(registry)}")
    log_path = settings.home / "logs" / f"invoke-{spec.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    launcher = ProcessLauncher(rie_binary(settings.home / "bin"))
    with open(log_path, "ab") as log:
        instance = RuntimeInstance(spec, launcher, log).start()
        try:
            result = instance.invoke(event)
        finally:
            instance.stop()
    print(json.dumps(result.payload, indent=2))
    if not result.ok:
        print(f"queuefirst: {spec.name} failed: {result.error} (log: {log_path})", file=sys.stderr)
        return 1
    return 0
