"""Helpers shared by the infra tests.

AWS itself can't run here: the CDK app is synthesized into CloudFormation
templates (never deployed), and the rollout command runs against moto's
server standing in for the Lambda and CloudWatch APIs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Node 20 still runs the CDK, but jsii prints a banner about it on every start
# unless the major version is listed here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk

from queuefirst.model import names
from queuefirst.model.application import Application
from queuefirst.model.registry import Registry
from queuefirst_infra import naming
from queuefirst_infra.build import build
from queuefirst_infra.config import InfraConfig

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def image_uri(repository: str, digit: str) -> str:
    return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repository}@sha256:{digit * 64}"


def images_for(registry: Registry, digit: str = "1") -> dict[str, str]:
    app = registry.app
    functions = [names.api_function_name(app), naming.admin_function_name(app)]
    functions += [names.worker_function_name(app, e) for e in registry]
    return {f: image_uri(naming.repository_name(app, f), digit) for f in functions}


@dataclass(frozen=True)
class Acknowledged:
    """A finding of AWS's rule pack acknowledged on a construct, with its reason."""

    path: str
    finding: str
    reason: str


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    templates: Mapping[str, dict[str, Any]]  # stack name -> template
    acknowledged: tuple[Acknowledged, ...] = ()

    def template_files(self) -> list[Path]:
        return sorted(self.outdir.glob("*.template.json"))

    def template(self, stack_name: str) -> cdk.assertions.Template:
        return cdk.assertions.Template.from_json(self.templates[stack_name])


def application_of(registry: Registry) -> Application:
    """The descriptor of a test registry's application: named like its package."""
    return Application(name=registry.app, package=registry.app)


def synthesize(registry: Registry, outdir: Path, context: Mapping[str, Any] | None = None) -> Synthesized:
    app = cdk.App(outdir=str(outdir), context=dict(context or {}))
    build(
        app, application_of(registry), InfraConfig.from_context(app.node.try_get_context), registry=registry
    )
    assembly = app.synth()  # raises if AWS's rule pack has an unacknowledged finding
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    return Synthesized(outdir, templates, acknowledgements(app))


def acknowledgements(app: cdk.App) -> tuple[Acknowledged, ...]:
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found = []
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key:
                for rule, reason in dict(entry.data).items():
                    finding = str(rule).removeprefix("Annotation::")
                    if finding.startswith("AwsSolutions-"):
                        found.append(Acknowledged(construct.node.path, finding, str(reason)))
    return tuple(found)


def resources(tpl: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in tpl["Resources"].items() if v["Type"] == kind}


def find_tool(name: str, env_var: str, *fallbacks: str) -> str | None:
    """A command-line tool: $ENV_VAR, then beside this Python, then PATH, then fallbacks."""
    candidates = [os.environ.get(env_var), str(Path(sys.executable).parent / name)]
    candidates += [shutil.which(name), *fallbacks]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, default=str)
