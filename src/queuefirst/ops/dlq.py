"""`queuefirst dlq`: dead letters per entity, with why each failed, and redrive."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from queuefirst.model.application import load_application
from queuefirst.model.registry import Registry
from queuefirst.ops.endpoints import find_endpoints
from queuefirst.runtime.dead_letters import DeadLetters
from queuefirst.runtime.sender import sqs_client
from queuefirst.store.database import Database


def register(subparsers: Any) -> None:
    dlq = subparsers.add_parser("dlq", help="dead letters: ls, show, redrive")
    commands = dlq.add_subparsers(title="dlq commands", required=True)
    ls = commands.add_parser("ls", help="dead letters per entity")
    ls.set_defaults(run=run_ls)
    show = commands.add_parser("show", help="an entity's dead letters, with why each failed")
    show.add_argument("entity")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=run_show)
    redrive = commands.add_parser("redrive", help="send dead letters back to their queue")
    redrive.add_argument("entity")
    redrive.add_argument("--message-id", action="append", dest="message_ids", help="only these (repeatable)")
    redrive.add_argument("--dry-run", action="store_true", help="say what would move; move nothing")
    redrive.set_defaults(run=run_redrive)


def _dead_letters() -> tuple[Registry, DeadLetters]:
    registry = load_application().registry()
    found = find_endpoints()
    database = Database(found.database_url) if found.database_url else None
    client = sqs_client(found.sqs_endpoint_url, found.region)
    return registry, DeadLetters(client, registry.app, database)


def run_ls(args: argparse.Namespace) -> int:
    registry, letters = _dead_letters()
    print(f"{'entity':<16} {'dead letters':>12}")
    for name in registry:
        print(f"{name:<16} {letters.depth(name):>12}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    registry, letters = _dead_letters()
    registry.require(args.entity)
    shown = [letter.summary() for letter in letters.peek(args.entity)]
    if args.json:
        print(json.dumps(shown, indent=2))
        return 0
    if not shown:
        print(f"no dead letters for {args.entity}")
    for item in shown:
        print(
            f"{item['message_id']}  {item.get('op', '?')} {item.get('key', '?')}  "
            f"received {item['receive_count']}x\n    reason: {item['reason']}"
        )
    return 0


def run_redrive(args: argparse.Namespace) -> int:
    registry, letters = _dead_letters()
    registry.require(args.entity)
    moved = letters.redrive(args.entity, args.message_ids, dry_run=args.dry_run)
    verb = "would redrive" if args.dry_run else "redrove"
    for letter in moved:
        print(f"{verb} {letter.message_id}")
    print(f"{verb} {len(moved)} message(s) to {args.entity}")
    missing = set(args.message_ids or ()) - {m.message_id for m in moved}
    if missing:
        print(f"not found in the dead-letter queue: {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    return 0
