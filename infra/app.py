#!/usr/bin/env python3
"""CDK entry point: `cdk synth`, reading the release record images.json (see queuefirst_infra/config.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent / "src"))

import aws_cdk as cdk  # noqa: E402

from queuefirst.model.application import load_application  # noqa: E402
from queuefirst_infra.build import build  # noqa: E402
from queuefirst_infra.config import InfraConfig, record_file  # noqa: E402


def main() -> None:
    app = cdk.App()
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    record = record_file(HERE)

    def context(name: str) -> object:
        # -c images=… wins; otherwise the release record, the one list of what runs.
        value = app.node.try_get_context(name)
        return str(record) if name == "images" and value is None and record is not None else value

    build(app, load_application(project=HERE), InfraConfig.from_context(context), env=env)
    app.synth()


if __name__ == "__main__":
    main()
