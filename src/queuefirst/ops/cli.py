"""The `queuefirst` command: dev, token, graph, dlq, invoke, migrations, bakefile, plan, deploy, release.

Each subcommand lives in its own module with a `register(subparsers)`; this
module only assembles them and turns the errors a user can act on into one
line each, naming what failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from queuefirst.model.application import ApplicationError
from queuefirst.model.registry import RegistryError
from queuefirst.ops import bakefile, deploy, dev, dlq, graph, invoke, migrations, plan, release, token

COMMANDS = (dev, token, graph, dlq, invoke, migrations, bakefile, plan, deploy, release)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        code: int = args.run(args)
        return code
    except (ApplicationError, RegistryError, ValueError) as error:
        # Our own errors say what to fix; no traceback.
        print(f"queuefirst: {error}", file=sys.stderr)
        return 1
    except (RuntimeError, OSError, BotoCoreError, ClientError, ValidationError) as error:
        # The outside world's: name the kind too, so the cause is plain.
        print(f"queuefirst: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="queuefirst", description=__doc__)
    commands = parser.add_subparsers(title="commands")
    for command in COMMANDS:
        command.register(commands)
    return parser


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
