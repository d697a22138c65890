"""`queuefirst release` for real: bake, the local registry, moto's Lambda, the record, synth.

A copy of the repository (as tests/images makes one) is released whole with
`--no-deploy` (the bootstrap: build, push, record), its functions are created in
moto from that record (as the first `cdk deploy` would create them), then one
line of one entity's rules is edited and that entity released.

AWS itself can't run here: Lambda and CloudWatch are moto's server mode, which
cannot run an image, so a new version's answer to the schema probe is queued for
moto to give (what a version really answers is tested against real PostgreSQL in
tests/integration/test_schema_guard.py), and a canary's errors are put into moto's
CloudWatch as Lambda would publish them. The rest is real: docker buildx bake,
the local registry (scripts/start-registry.sh) read over its HTTP API, the record
file, and the CDK app synthesized from it.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from queuefirst.ops import deploy
from queuefirst.ops.fingerprint_parts import REASONS
from queuefirst.ops.image_registry import RegistryClient
from queuefirst.ops.plan import compute_plan
from queuefirst.ops.plan import register as register_plan
from queuefirst.ops.plan import run as run_plan
from shop import application as shop_application
from tests.infra.infra_helpers import synthesize
from tests.infra.moto_aws import probe_answer

from .conftest import Stage, edit_one_rule

pytestmark = [pytest.mark.images, pytest.mark.timeout(900)]

ORDERS = "shop-orders-worker"


@dataclass(frozen=True)
class Released:
    record_before: dict[str, Any]
    record_after: dict[str, Any]
    lambda_before: dict[str, Any]
    lambda_after: dict[str, Any]
    code: int
    out: str
    tag: str
    new_tags: dict[str, list[str]]
    """Tags the release added, per repository in the registry."""


@pytest.fixture(scope="module")
def released(stage: Stage, figures: dict[str, Any]) -> Released:
    """One line of the orders' rules edited, then a bare `queuefirst release`: the plan picks the
    orders worker alone, since the api's and the console's images carry no rules."""
    record_before, lambda_before = stage.recorded(), stage.lambda_state()
    tags_before = {f: registry_tags(stage.registry, f) for f in record_before}
    edit_one_rule(stage.repo, "orders", f"as released in {stage.run_id}")
    stage.aws.answers(probe_answer())
    started = time.monotonic()
    code, out = stage.release()
    figures["release_one_entity_seconds (build, push, deploy, record)"] = round(time.monotonic() - started, 1)
    built = re.search(r"built and pushed 1 image\(s\) in ([\d.]+) s", out)
    figures["release_one_entity_build_and_push_seconds"] = float(built.group(1)) if built else None
    tags_after = {f: registry_tags(stage.registry, f) for f in record_before}
    return Released(
        record_before,
        stage.recorded(),
        lambda_before,
        stage.lambda_state(),
        code,
        out,
        f"{stage.run_id}-2",
        new_tags={f: sorted(set(tags_after[f]) - set(tags_before[f])) for f in record_before},
    )


def test_releasing_one_entity_builds_pushes_and_deploys_that_worker_alone(
    stage: Stage, released: Released, figures: dict[str, Any]
) -> None:
    assert released.code == 0, released.out
    assert "built and pushed 1 image(s)" in released.out
    changed = {f for f in released.record_before if released.record_before[f] != released.record_after[f]}
    assert changed == {ORDERS}
    entry = released.record_after[ORDERS]
    plan = compute_plan(stage.repo, shop_application)
    assert entry["fingerprint"] == plan["functions"]["worker-orders"]["fingerprint"]
    assert entry["tag"] == released.tag and entry["target"] == "worker-orders"
    # Lambda: the orders worker runs the recorded image on a new version behind live ...
    orders = released.lambda_after[ORDERS]
    assert orders["live"] == "2" and orders["weights"] == {} and orders["image"] == entry["image"]
    # ... and every other function's versions, alias and code are as they were.
    others = {f: s for f, s in released.lambda_after.items() if f != ORDERS}
    assert others == {f: s for f, s in released.lambda_before.items() if f != ORDERS}
    # The registry: one new tag, the release's, in the orders worker's repository alone.
    assert {f: t for f, t in released.new_tags.items() if t} == {ORDERS: [released.tag]}
    figures["release_one_entity_left_untouched"] = ", ".join(sorted(others))


def test_the_recorded_digest_is_the_registrys_manifest_digest_for_its_tag(
    stage: Stage, released: Released
) -> None:
    client = RegistryClient(stage.registry)
    for function, entry in released.record_after.items():
        assert client.manifest_digest(function, entry["tag"]) == entry["image"].split("@")[1], function
    assert released.record_after[ORDERS]["image"].startswith(f"{stage.registry}/{ORDERS}@sha256:")


def test_plan_shows_each_recorded_digest_and_whether_the_tree_would_change_it(
    stage: Stage, released: Released
) -> None:
    parser = argparse.ArgumentParser(prog="queuefirst")
    register_plan(parser.add_subparsers(dest="command", required=True))
    out = io.StringIO()
    run_plan(parser.parse_args(["plan", "--root", str(stage.repo), "--record", str(stage.record)]), out)
    rows = {line.split()[1]: line.split() for line in out.getvalue().splitlines()}
    plan = compute_plan(stage.repo, shop_application)
    for target, function in plan["functions"].items():
        if target == "base":
            continue
        entry = released.record_after[function["image"]]
        status, *_, word, digest = rows[target]
        assert word == "recorded" and entry["image"].split("@")[1].startswith(digest)
        assert status == ("same" if entry["fingerprint"] == function["fingerprint"] else "changed"), target
    assert rows["worker-orders"][0] == "same" and rows["worker-products"][0] == "same"


def test_plan_says_from_the_record_why_a_function_would_move(stage: Stage, released: Released) -> None:
    """The record keeps each image's fingerprint parts, so a rule edited after a release is
    named as the orders worker's own logic, and nothing else moves."""
    assert (
        released.record_after[ORDERS]["parts"]
        == (compute_plan(stage.repo, shop_application)["functions"]["worker-orders"]["parts"])
    )
    undo = edit_one_rule(stage.repo, "orders", f"after the release, {stage.run_id}")
    try:
        parser = argparse.ArgumentParser(prog="queuefirst")
        register_plan(parser.add_subparsers(dest="command", required=True))
        out = io.StringIO()
        run_plan(parser.parse_args(["plan", "--root", str(stage.repo), "--record", str(stage.record)]), out)
    finally:
        undo()
    moved = [line for line in out.getvalue().splitlines() if not line.startswith("same")]
    assert len(moved) == 1 and moved[0].split()[1] == "worker-orders", out.getvalue()
    assert moved[0].endswith(REASONS["logic"]), moved[0]


def test_after_the_release_a_synth_changes_that_entitys_function_image_and_nothing_else(
    released: Released, tmp_path: Path
) -> None:
    """What `cdk deploy` would deploy, from the record before and after the release."""
    registry = shop_application.registry()
    templates = []
    for name, record in (("before", released.record_before), ("after", released.record_after)):
        path = tmp_path / name / "images.json"
        path.parent.mkdir()
        path.write_text(json.dumps(record))
        templates.append(synthesize(registry, tmp_path / f"cdk.{name}", {"images": str(path)}).templates)
    before, after = templates
    assert sorted(name for name in before if before[name] != after[name]) == ["shop-orders"]
    old, new = (r[ORDERS]["image"].split("@")[1] for r in (released.record_before, released.record_after))
    changed = json.dumps(after["shop-orders"], sort_keys=True)
    assert new in changed and old not in changed

    def versionless(text: str) -> str:
        # The version resource's logical id hashes the function's code: it moves with the image.
        return re.sub(r"CurrentVersion[0-9A-Fa-f]+", "CurrentVersion", text)

    assert versionless(changed) == versionless(
        json.dumps(before["shop-orders"], sort_keys=True).replace(old, new)
    )


def test_a_second_release_with_no_change_does_nothing(
    stage: Stage, released: Released, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not even a build: docker is off the PATH, and bake would fail without it."""
    record_text, lambda_before = stage.record.read_text(), stage.lambda_state()
    tags_before = registry_tags(stage.registry, ORDERS)
    monkeypatch.setenv("PATH", "/nonexistent")
    code, out = stage.release("orders")
    assert code == 0, out
    assert f"{ORDERS}: unchanged, live on {released.record_after[ORDERS]['image']}" in out
    assert "nothing to release" in out
    code, out = stage.release("products", "customers")
    assert code == 0 and "nothing to release" in out, out
    assert stage.record.read_text() == record_text
    assert stage.lambda_state() == lambda_before
    assert registry_tags(stage.registry, ORDERS) == tags_before


def test_a_release_whose_probe_fails_leaves_live_and_the_record_where_they_were(
    stage: Stage, released: Released
) -> None:
    record_text, live_before = stage.record.read_text(), stage.aws.alias(ORDERS)["FunctionVersion"]
    undo = edit_one_rule(stage.repo, "orders", f"never live, {stage.run_id}")
    try:
        stage.aws.answers(probe_answer(needs="0009", database="0002", ok=False))
        code, out = stage.release("orders")
    finally:
        undo()
    assert code == deploy.EXIT_REFUSED, out
    refusals = [line for line in out.splitlines() if line.startswith("release refused")]
    assert len(refusals) == 1 and "needs schema revision 0009 but the database is at 0002" in refusals[0]
    assert stage.aws.alias(ORDERS)["FunctionVersion"] == live_before
    assert stage.record.read_text() == record_text


def test_a_canary_that_errs_is_rolled_back_and_leaves_the_record_where_it_was(
    stage: Stage, released: Released
) -> None:
    record_text, live_before = stage.record.read_text(), stage.aws.alias(ORDERS)["FunctionVersion"]
    undo = edit_one_rule(stage.repo, "orders", f"a bad canary, {stage.run_id}")
    published = len(stage.lambda_state()[ORDERS]["versions"])  # $LATEST and 1..n: the next is n+1

    def one_error_then_wait(_seconds: float) -> None:
        stage.aws.metric(ORDERS, "Errors", str(published), 1)

    try:
        stage.aws.answers(probe_answer())
        code, out = stage.release("orders", "--strategy", "canary", sleep=one_error_then_wait)
    finally:
        undo()
    assert code == deploy.EXIT_ROLLED_BACK, out
    assert f"{ORDERS}: rolled back to version {live_before}" in out
    alias = stage.aws.alias(ORDERS)
    assert alias["FunctionVersion"] == live_before and not alias.get("RoutingConfig", {}).get(
        "AdditionalVersionWeights"
    )
    assert stage.record.read_text() == record_text


def registry_tags(registry: str, repository: str) -> list[str]:
    with urllib.request.urlopen(f"http://{registry}/v2/{repository}/tags/list", timeout=10) as response:
        return sorted(json.loads(response.read())["tags"] or [])
