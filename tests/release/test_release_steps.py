"""`queuefirst release` before it builds: what it picks, what `--dry-run` prints, how it
refuses; the record it keeps, and `queuefirst plan` reading it. No Docker needed, none
used: these run with docker off the PATH, so a build they should not start would fail."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from queuefirst.ops.cli import main
from queuefirst.ops.plan import compute_plan
from queuefirst.ops.release_build import BuildError, bake_variables, digests_from_metadata
from queuefirst.ops.release_record import RecordedImage, RecordError, ReleaseRecord, record_path
from shop import application as shop_application

from .conftest import rules_file

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def digest(digit: str) -> str:
    return "sha256:" + digit * 64


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")


@pytest.fixture
def recorded(scratch_repo: Path) -> Path:
    """A record of every function of the scratch copy as its tree is now (as after a release)."""
    plan = compute_plan(scratch_repo, shop_application)
    record = ReleaseRecord({})
    for index, (target, function) in enumerate(sorted(plan["functions"].items())):
        if target != "base":
            image = f"{REGISTRY}/{function['image']}@{digest(str(index))}"
            record = record.with_image(
                function["image"], RecordedImage(image, function["fingerprint"], "t", target)
            )
    path = scratch_repo / "infra" / "images.json"
    record.save(path)
    return path


def edit_orders(repo: Path) -> None:
    module = rules_file(repo, "orders")
    module.write_text(module.read_text() + "\n# a changed rule\n")


def edit_orders_contract(repo: Path) -> None:
    """A contract's edit: every image that carries the orders' contract moves, the api's too."""
    contract = repo / "src" / "shop" / "entities" / "orders" / "__init__.py"
    contract.write_text(contract.read_text() + "\n# a changed contract\n")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_record_keeps_each_entry_and_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "infra" / "images.json"
    assert ReleaseRecord.load(path).images == {}  # nothing released yet
    entry = RecordedImage(f"{REGISTRY}/shop-api@{digest('a')}", "f" * 64, "release-1", "api")
    ReleaseRecord({}).with_image("shop-api", entry).save(path)
    loaded = ReleaseRecord.load(path)
    assert loaded.get("shop-api") == entry and loaded.registry() == REGISTRY
    assert entry.digest == digest("a") and loaded.fingerprint_of("shop-api") == "f" * 64
    assert [p.name for p in path.parent.iterdir()] == ["images.json"]  # no temporary left beside it
    # An entry written by hand before releases existed: an image whose fingerprint is unknown.
    path.write_text(json.dumps({"shop-api": f"{REGISTRY}/shop-api@{digest('b')}"}))
    assert ReleaseRecord.load(path).fingerprint_of("shop-api") is None
    path.write_text(json.dumps({"shop-api": f"{REGISTRY}/shop-api:latest"}))
    with pytest.raises(RecordError, match=r"shop-api: .* names no sha256 digest"):
        ReleaseRecord.load(path)


def test_the_record_is_found_by_flag_then_environment_then_under_infra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUEUEFIRST_RECORD")
    assert record_path(tmp_path) == tmp_path / "infra" / "images.json"
    monkeypatch.setenv("QUEUEFIRST_RECORD", str(tmp_path / "elsewhere.json"))
    assert record_path(tmp_path) == tmp_path / "elsewhere.json"
    assert record_path(tmp_path, tmp_path / "given.json") == tmp_path / "given.json"


def test_plan_compares_with_the_record_and_shows_each_recorded_digest(
    scratch_repo: Path, recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_orders(scratch_repo)
    code, out, _ = cli(capsys, "plan", "--root", str(scratch_repo), "--record", str(recorded))
    assert code == 0
    rows = {line.split()[1]: line.split() for line in out.splitlines()}
    digests = {name: entry.digest for name, entry in ReleaseRecord.load(recorded).images.items()}
    for target, row in rows.items():
        assert row[-2] == "recorded" and row[-1] == str(digests[row[2]])[:19], target
    # The api's and the console's images carry contracts and no rules: a rule's edit moves one.
    assert {t for t, row in rows.items() if row[0] == "changed"} == {"worker-orders"}
    code, out, _ = cli(capsys, "plan", "--root", str(scratch_repo), "--record", str(recorded), "--json")
    orders = next(row for row in json.loads(out) if row["name"] == "worker-orders")
    assert orders["status"] == "changed" and orders["recorded"] == digests["shop-orders-worker"]


def test_dry_run_prints_each_step_for_the_changed_entity_alone(
    scratch_repo: Path, recorded: Path, no_docker: None, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_orders(scratch_repo)
    before = recorded.read_text()
    code, out, err = cli(
        capsys, "release", "orders", "customers", "--root", str(scratch_repo), "--record", str(recorded),
        "--dry-run", "--tag", "release-x",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    assert "shop-customers-worker: unchanged, live on" in out
    assert f"dry run: release 1 function(s), tag release-x, registry {REGISTRY}" in out
    bake = next(line for line in out.splitlines() if "docker buildx bake" in line)
    assert bake.endswith(
        "--metadata-file <metadata.json> worker-orders"
        "  (FINGERPRINTS, SCHEMA_REVISIONS, FINGERPRINT_PARTS from the plan)"
    )
    assert f"REGISTRY='{REGISTRY}/' TAG='release-x'" in bake
    assert f"update shop-orders-worker code to {REGISTRY}/shop-orders-worker@<digest>" in out
    assert "probe the new version" in out and "move alias live to the new version (all at once)" in out
    assert re.search(rf"record {REGISTRY}/shop-orders-worker@<digest> in .* once live serves it", out)
    assert recorded.read_text() == before


def test_without_names_it_releases_what_plan_says_changed_against_the_record(
    scratch_repo: Path, recorded: Path, no_docker: None, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_orders_contract(scratch_repo)
    root = ("--root", str(scratch_repo), "--record", str(recorded))
    _, changed, _ = cli(capsys, "plan", *root, "--changed-only")
    assert {"api", "admin", "worker-orders"} <= set(changed.split())
    _, out, _ = cli(capsys, "release", *root, "--dry-run")
    rollouts = re.findall(r"roll out (\S+) ", out)
    plan = compute_plan(scratch_repo, shop_application)["functions"]
    assert sorted(rollouts) == sorted(plan[target]["image"] for target in changed.split())
    assert rollouts[0] == "shop-api"  # first: with --migrate it moves the migrations to its image


def test_nothing_changed_is_nothing_to_do(
    scratch_repo: Path, recorded: Path, no_docker: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "release", "--root", str(scratch_repo), "--record", str(recorded))
    assert code == 0 and out.splitlines()[-1] == "nothing to release: every image named is the one recorded"
    assert len(out.splitlines()) == 7  # each of the six functions said unchanged


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["widgets"], "queuefirst: no function or entity named widgets: one of customers, "),
        (["base"], "queuefirst: no function or entity named base: "),
        (["orders"], "queuefirst: no registry to push to: pass --registry "),
    ],
)
def test_what_a_user_can_fix_is_one_line(
    scratch_repo: Path,
    tmp_path: Path,
    no_docker: None,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    error: str,
) -> None:
    code, _, err = cli(
        capsys, "release", *argv, "--root", str(scratch_repo), "--record", str(tmp_path / "r.json")
    )
    assert code == 1 and err.startswith(error) and err.count("\n") == 1, err


def test_a_stale_bake_file_and_a_missing_docker_are_one_line_each(
    scratch_repo: Path, recorded: Path, no_docker: None, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ("--root", str(scratch_repo), "--record", str(recorded), "--no-deploy")  # no AWS asked
    edit_orders(scratch_repo)
    code, _, err = cli(capsys, "release", *root)
    assert code == 1 and err == "queuefirst: docker is not installed here: see scripts/install-docker.sh\n"
    (scratch_repo / "docker-bake.json").write_text("{}\n")
    code, _, err = cli(capsys, "release", *root)
    assert code == 1
    assert err == "queuefirst: docker-bake.json is out of date: run `queuefirst bakefile` and commit it\n"


def test_bake_gets_the_plans_variables_and_its_fingerprint_parts_when_it_has_them(scratch_repo: Path) -> None:
    plan = compute_plan(scratch_repo, shop_application)
    variables = bake_variables(plan, "localhost:5000", "release-x")
    assert variables["REGISTRY"] == "localhost:5000/" and variables["TAG"] == "release-x"
    assert json.loads(variables["FINGERPRINTS"]) == {
        t: f["fingerprint"] for t, f in plan["functions"].items()
    }
    assert (
        json.loads(variables["SCHEMA_REVISIONS"])["worker-orders"]
        == plan["functions"]["worker-orders"]["schema_revision"]
    )
    assert ("FINGERPRINT_PARTS" in variables) == any("parts" in f for f in plan["functions"].values())
    # A plan that splits its fingerprints (base, contracts, logic, own) labels each image with them.
    plan["functions"]["worker-orders"]["parts"] = {"own": "1" * 64, "base": "2" * 64}
    parts = json.loads(bake_variables(plan, "localhost:5000", "t")["FINGERPRINT_PARTS"])
    assert parts["worker-orders"] == '{"base":"' + "2" * 64 + '","own":"' + "1" * 64 + '"}'


def test_each_pushed_digest_is_read_from_bakes_metadata() -> None:
    """The shape `docker buildx bake --push --metadata-file` writes (buildx 0.13), base included."""
    metadata = {
        "base": {"containerimage.digest": digest("0"), "image.name": "localhost:5000/shop-base:t"},
        "worker-orders": {
            "containerimage.config.digest": digest("c"),
            "containerimage.digest": digest("d"),
            "image.name": "localhost:5000/shop-orders-worker:t,localhost:5000/shop-orders-worker:also",
        },
    }
    pushed = digests_from_metadata(metadata, ["worker-orders"])
    assert pushed["worker-orders"].uri == f"localhost:5000/shop-orders-worker@{digest('d')}"
    with pytest.raises(BuildError, match="no pushed image and digest for api"):
        digests_from_metadata(metadata, ["api"])


def test_a_function_lambda_does_not_have_is_refused_before_anything_is_built(
    scratch_repo: Path, recorded: Path, aws_env: str, no_docker: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lambda is moto's server mode (AWS itself can't run here). An alias nobody created stands
    for a function whose stack was never deployed, whatever other tests left in moto."""
    edit_orders(scratch_repo)
    alias = f"never-{uuid.uuid4().hex[:8]}"
    code, _, err = cli(
        capsys, "release", "orders", "--root", str(scratch_repo), "--record", str(recorded),
        "--alias", alias, "--endpoint-url", aws_env, "--region", "us-east-1",
    )  # fmt: skip
    assert code == 1 and err.count("\n") == 1, err
    assert err.startswith(
        f"queuefirst: no `{alias}` alias in Lambda for shop-orders-worker: a new function; "
    )
    assert "run `queuefirst release orders --no-deploy`, then `npx cdk deploy` its stack" in err
