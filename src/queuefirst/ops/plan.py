"""`queuefirst plan`: which function images a change touches.

A function's fingerprint is a sha256 over exactly the files its image is built
from, as its Dockerfiles name them (`queuefirst.ops.images`), read from the
repository tree. So a fingerprint moves exactly when the image's content can:
editing one entity's module moves that entity's worker and the api (which
carries every entity); editing an operator's tool moves nothing, since no
image copies it.

`queuefirst plan` compares the fingerprints with a previous plan (`--against`),
with the `queuefirst.fingerprint` labels of the images in a registry
(`--registry`, the registry HTTP API v2) or in the local Docker engine
(`--images`), and lists the functions whose images would differ. Given none of
these, it compares with the release record (`queuefirst.ops.release_record`),
when there is one: what `queuefirst release` would rebuild. Each row also
names the digest the record holds for that function.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from queuefirst.model.application import MIGRATIONS, Application, entity_modules, load_application
from queuefirst.ops import fingerprint_parts
from queuefirst.ops.image_registry import ImageRegistryError, RegistryClient
from queuefirst.ops.images import ImageTarget, image_files, image_targets
from queuefirst.ops.release_record import DEFAULT_RECORD, ReleaseRecord, record_path
from queuefirst.ops.revisions import required_revisions

LABEL = "queuefirst.fingerprint"
PARTS_LABEL = "queuefirst.fingerprint-parts"
PLAN_FORMAT = 2


def entities_in_tree(root: Path, app: Application) -> list[str]:
    """The entity modules under `root`: the same rule the registry discovers them by."""
    return entity_modules(root / "src" / app.package.replace(".", "/") / "entities")


def targets_in_tree(root: Path, app: Application) -> list[ImageTarget]:
    return image_targets(app, entities_in_tree(root, app))


def fingerprint(root: Path, files: Iterable[str], extra: str = "") -> str:
    """sha256 over the files' paths and contents (and `extra`, e.g. the entity name)."""
    return fingerprint_parts.digest(root, files, extra)


def schema_revisions_in_tree(root: Path, app: Application) -> dict[str, str | None]:
    """The schema revision each image needs (`queuefirst.ops.revisions`), by bake target."""
    versions = root / "src" / app.package.replace(".", "/") / MIGRATIONS / "versions"
    needs = required_revisions(versions, entities_in_tree(root, app))
    return {target.name: needs[target.entity or "api"] for target in targets_in_tree(root, app)}


def compute_plan(root: Path, app: Application) -> dict[str, Any]:
    """The plan: every function's image name, entity, fingerprint (and its parts, see
    `queuefirst.ops.fingerprint_parts`), schema revision and files."""
    functions: dict[str, Any] = {}
    revisions = schema_revisions_in_tree(root, app)
    targets = targets_in_tree(root, app)
    base_files = frozenset(image_files(root, next(t for t in targets if t.name == "base")))
    for target in targets:
        files = image_files(root, target)
        # The base carries no revision; an image's revision is baked into it (a label and
        # an environment variable), so it moves the image's fingerprint like its files.
        revision = revisions[target.name] if target.name != "base" else None
        extra = f"{target.entity or target.name}\n{revision or ''}"
        own_base = frozenset() if target.name == "base" else base_files
        functions[target.name] = {
            "image": target.image,
            "entity": target.entity,
            "fingerprint": fingerprint(root, files, extra=extra),
            "parts": fingerprint_parts.parts(root, files, own_base, extra),
            "schema_revision": revision,
            "files": files,
        }
    return {"format": PLAN_FORMAT, "app": app.name, "functions": functions}


def parts_labels(plan: dict[str, Any]) -> dict[str, str]:
    """For docker-bake.hcl's FINGERPRINT_PARTS: target -> its parts as one compact label value."""
    return {
        name: json.dumps(f["parts"], sort_keys=True, separators=(",", ":"))
        for name, f in plan["functions"].items()
    }


def fingerprints(plan: dict[str, Any]) -> dict[str, str]:
    return {name: f["fingerprint"] for name, f in plan["functions"].items()}


def schema_revisions(plan: dict[str, Any]) -> dict[str, str]:
    """For docker-bake.hcl's SCHEMA_REVISIONS: bake target -> revision its image needs."""
    return {name: f["schema_revision"] for name, f in plan["functions"].items() if f.get("schema_revision")}


# Previous fingerprints ---------------------------------------------------------------


@dataclass(frozen=True)
class Previous:
    fingerprint: str
    parts: dict[str, str] | None = None  # None where the source kept no parts (older images)


Lookup = Callable[[str], "Previous | None"]
"""Maps an image name (`<app>-api`) to what it was built from, None when absent."""


def from_plan_file(path: Path) -> Lookup:
    previous = json.loads(path.read_text())
    by_image = {
        f["image"]: Previous(f["fingerprint"], f.get("parts"))
        for f in previous.get("functions", {}).values()
        if f.get("fingerprint")
    }
    return lambda image: by_image.get(image)


def _from_labels(labels: dict[str, Any]) -> Previous | None:
    value = labels.get(LABEL)
    if not value:
        return None
    raw = labels.get(PARTS_LABEL)
    return Previous(str(value), json.loads(raw) if raw else None)


def from_local_images(tag: str, registry: str = "") -> Lookup:
    def lookup(image: str) -> Previous | None:
        result = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", f"{registry}{image}:{tag}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            return None
        return _from_labels(json.loads(result.stdout) or {})

    return lookup


def from_registry(client: RegistryClient, tag: str) -> Lookup:
    def lookup(image: str) -> Previous | None:
        labels = client.labels(image, tag)
        return _from_labels(labels) if labels else None

    return lookup


# The comparison ----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    name: str
    image: str
    status: str
    """`changed`, `new` (nothing to compare with) or `same`."""
    fingerprint: str
    previous: str | None
    reasons: tuple[str, ...] = ()
    """Why it changed: its own logic, a contract it carries, its own code, the shared base."""


def compare(plan: dict[str, Any], previous: Lookup, include_base: bool = False) -> list[Change]:
    out = []
    for name, function in plan["functions"].items():
        if name == "base" and not include_base:
            continue
        before = previous(function["image"])
        fingerprint_now = function["fingerprint"]
        if before is None:
            out.append(
                Change(name, function["image"], "new", fingerprint_now, None, ("nothing to compare with",))
            )
            continue
        status = "same" if before.fingerprint == fingerprint_now else "changed"
        why = (
            fingerprint_parts.reasons(function.get("parts", {}), before.parts) if status == "changed" else []
        )
        out.append(Change(name, function["image"], status, fingerprint_now, before.fingerprint, tuple(why)))
    return out


# The command -------------------------------------------------------------------------


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `plan` subcommand to a CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plan",
        help="fingerprint each function image and list those that differ",
        description=(
            "Fingerprint every function image from the repository tree and compare with a "
            "previous plan, a registry's image labels or local images."
        ),
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (default: here)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--against", type=Path, metavar="PLAN.json", help="a previous plan")
    source.add_argument(
        "--registry",
        metavar="HOST[:PORT][/PREFIX]",
        help="read the queuefirst.fingerprint labels of the images in this registry",
    )
    source.add_argument("--images", action="store_true", help="read the labels of the local Docker images")
    parser.add_argument(
        "--record",
        type=Path,
        default=None,
        help=f"the release record (default {DEFAULT_RECORD} under --root)",
    )
    parser.add_argument("--tag", default="dev", help="image tag to compare with (default dev)")
    parser.add_argument("--platform", default="linux/amd64")
    parser.add_argument("--write", type=Path, metavar="PLAN.json", help="write the plan here")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--changed-only",
        action="store_true",
        help="print only the bake targets that differ (changed or new), one a line",
    )
    output.add_argument(
        "--fingerprints",
        action="store_true",
        help="print the fingerprints as JSON, for docker-bake.hcl's FINGERPRINTS variable",
    )
    output.add_argument(
        "--fingerprint-parts",
        action="store_true",
        help="print each image's fingerprint parts as JSON, for docker-bake.hcl's FINGERPRINT_PARTS",
    )
    output.add_argument(
        "--schema-revisions",
        action="store_true",
        help="print the schema revision each image needs as JSON, for docker-bake.hcl's SCHEMA_REVISIONS",
    )
    output.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.set_defaults(run=run)
    return parser


def _lookup(args: argparse.Namespace, record: ReleaseRecord) -> Lookup | None:
    if args.against is not None:
        return from_plan_file(args.against)
    if args.registry:
        return from_registry(RegistryClient(args.registry, args.platform), args.tag)
    if args.images:
        return from_local_images(args.tag)
    if record.images:
        return lambda image: _from_record(record, image)
    return None


def _from_record(record: ReleaseRecord, function: str) -> Previous | None:
    entry = record.get(function)
    if entry is None or entry.fingerprint is None:
        return None
    return Previous(entry.fingerprint, dict(entry.parts) if entry.parts is not None else None)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    root: Path = args.root
    plan = compute_plan(root, load_application(project=root))
    if args.write is not None:
        args.write.write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    if args.fingerprints:
        print(json.dumps(fingerprints(plan), sort_keys=True), file=out)
        return 0
    if args.fingerprint_parts:
        print(json.dumps(parts_labels(plan), sort_keys=True), file=out)
        return 0
    if args.schema_revisions:
        print(json.dumps(schema_revisions(plan), sort_keys=True), file=out)
        return 0
    record = ReleaseRecord.load(record_path(root, args.record))
    lookup = _lookup(args, record)
    try:
        changes = compare(plan, lookup if lookup is not None else lambda _image: None)
    except ImageRegistryError as error:
        print(f"plan: {error}", file=sys.stderr)
        return 1
    if args.changed_only:
        for change in changes:
            if change.status != "same":
                print(change.name, file=out)
    elif args.json:
        rows = [{**change.__dict__, "recorded": _recorded(record, change.image)} for change in changes]
        print(json.dumps(rows, indent=2), file=out)
    else:
        for change in changes:
            why = f"  {'; '.join(change.reasons)}" if change.status != "same" and change.reasons else ""
            recorded = (
                f"  recorded {(_recorded(record, change.image) or 'nothing')[:19]}" if record.images else ""
            )
            row = f"{change.status:8} {change.name:24} {change.image:28} {change.fingerprint[:12]}"
            print(f"{row}{recorded}{why}", file=out)
    return 0


def _recorded(record: ReleaseRecord, function: str) -> str | None:
    """The digest the release record holds for a function."""
    entry = record.get(function)
    return entry.digest if entry is not None else None
