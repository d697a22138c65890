"""`docker-bake.json`: the application's part of the bake definition, written by the kit.

`docker buildx bake` reads `docker-bake.json` and `docker-bake.hcl` together.
The HCL file holds the targets every application shares (base, api, the
worker matrix); this JSON file, generated from the application descriptor
and its entity modules, names the application and its entities, so a new
entity module is a new `worker-<entity>` target without touching the HCL.
`queuefirst bakefile` writes it; `--check` fails when it is out of date.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from queuefirst.model.application import Application, load_application
from queuefirst.model.names import bake_target
from queuefirst.ops.plan import entities_in_tree

FILE_NAME = "docker-bake.json"


def bake_definition(app: Application, entities: list[str]) -> dict[str, Any]:
    return {
        "variable": {
            "APP": {"default": app.name},
            "PACKAGE": {"default": app.package},
            "ENTITIES": {"default": entities},
        },
        # One group per entity, named like it: `docker buildx bake orders`.
        "group": {entity: {"targets": [bake_target(entity)]} for entity in entities},
    }


def render(app: Application, entities: list[str]) -> str:
    return json.dumps(bake_definition(app, entities), indent=2, sort_keys=True) + "\n"


def sync(root: Path, app: Application) -> bool:
    """Write the bake file if it differs; whether it changed."""
    path = root / FILE_NAME
    wanted = render(app, entities_in_tree(root, app))
    if path.is_file() and path.read_text() == wanted:
        return False
    path.write_text(wanted)
    return True


def is_current(root: Path, app: Application) -> bool:
    path = root / FILE_NAME
    return path.is_file() and path.read_text() == render(app, entities_in_tree(root, app))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("bakefile", help=f"write {FILE_NAME} from the application's entities")
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (default: here)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is out of date")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    app = load_application(project=args.root)
    if args.check:
        if is_current(args.root, app):
            return 0
        print(f"{FILE_NAME} is out of date: run `queuefirst bakefile`", file=sys.stderr)
        return 1
    changed = sync(args.root, app)
    print(f"{FILE_NAME}: {'written' if changed else 'up to date'}")
    return 0
