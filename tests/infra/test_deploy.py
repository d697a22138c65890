"""`queuefirst deploy` against moto's server mode: the schema gate and the plain rollout.

AWS itself can't run here, so the Lambda API is moto's (a real HTTP server in
a subprocess); functions are created, updated, published and aliased there.
moto cannot run an image, so the new version's answer to the schema probe and
the migrations function's answer are queued for moto to give (what each
really answers is tested against real PostgreSQL in
tests/integration/test_schema_guard.py).
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from queuefirst.ops import deploy
from queuefirst.ops.release_record import RecordedImage, ReleaseRecord
from tests.infra.moto_aws import Aws, image, probe_answer, weights


@pytest.fixture
def aws(aws_env: str) -> Aws:
    return Aws(aws_env)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="queuefirst")
    deploy.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


def run(
    aws: Aws, *argv: str, sleep: Callable[[float], None] | None = None, lambda_api: Any = None
) -> tuple[int, str]:
    out = io.StringIO()
    args = parse("deploy", *argv, "--endpoint-url", aws.endpoint, "--region", "us-east-1")
    clients = (lambda_api, aws.cloudwatch) if lambda_api is not None else None
    code = deploy.run(args, sleep=sleep or (lambda _: None), out=out, clients=clients)
    return code, out.getvalue()


def test_all_at_once_updates_publishes_probes_and_moves_the_alias(aws: Aws) -> None:
    name = aws.function()
    new_image = image(name, "2")
    aws.answers(probe_answer())
    code, out = run(aws, name, "--image", new_image)
    assert code == 0, out
    alias = aws.alias(name)
    assert alias["FunctionVersion"] == "2" and weights(alias) == {}
    assert aws.image_of(name) == new_image
    assert "version 2 needs revision 0002, the database has 0002" in out
    assert "live on version 2" in out
    assert aws.unread_answers() == 0  # the probe was asked exactly once


def test_a_version_whose_database_is_behind_is_refused_before_any_traffic(aws: Aws) -> None:
    name = aws.function()
    aws.answers(probe_answer(needs="0003", database="0002", ok=False))
    code, out = run(aws, name, "--image", image(name, "3"), "--strategy", "canary")
    assert code == deploy.EXIT_REFUSED, out
    assert "needs schema revision 0003 but the database is at 0002" in out
    assert f"queuefirst deploy {name} --image {image(name, '3')} --migrate" in out
    assert "shop-migrations" in out
    alias = aws.alias(name)
    assert alias["FunctionVersion"] == "1" and weights(alias) == {}  # not even a canary share


def test_migrate_runs_the_migrations_function_first(aws: Aws) -> None:
    name = aws.function()
    migrations = aws.function(name.replace("-worker", "-migrations"))
    aws.answers({"migrated": "head", "revision": "0003", "head": "0003"}, probe_answer("0003", "0003"))
    code, out = run(aws, name, "--image", image(name, "4"), "--migrate", "--migrations-function", migrations)
    assert code == 0, out
    assert out.index(f"{migrations}: database at revision 0003") < out.index("published version 2")
    assert aws.alias(name)["FunctionVersion"] == "2"
    assert aws.image_of(migrations) == image(migrations, "1")  # a worker's image is not the migrations'


def test_migrating_for_the_api_moves_the_migrations_function_to_its_image_first(aws: Aws) -> None:
    """The migrations run from the api's image: only the new one carries the new revisions."""
    api = aws.function("shop-api")
    migrations = aws.function("shop-migrations")
    new_image = image(api, "5")
    aws.answers({"migrated": "head", "revision": "0003", "head": "0003"}, probe_answer("0003", "0003"))
    code, out = run(aws, api, "--image", new_image, "--migrate")
    assert code == 0, out
    assert aws.image_of(migrations) == new_image
    assert aws.alias(api)["FunctionVersion"] == "2"


def test_failing_migrations_stop_the_rollout_before_the_function_changes(aws: Aws) -> None:
    name = aws.function()
    migrations = aws.function(name.replace("-worker", "-migrations"))

    class FailingMigrations:
        """moto cannot make a function fail; Lambda answers so when one raises."""

        def __getattr__(self, attribute: str) -> Any:
            return getattr(aws.lambda_, attribute)

        def invoke(self, **kwargs: Any) -> Mapping[str, Any]:
            error = {"errorType": "OperationalError", "errorMessage": "connection refused"}
            return {"FunctionError": "Unhandled", "Payload": io.BytesIO(json.dumps(error).encode())}

    code, out = run(
        aws,
        name,
        "--image",
        image(name, "6"),
        "--migrate",
        "--migrations-function",
        migrations,
        lambda_api=FailingMigrations(),
    )
    assert code == deploy.EXIT_REFUSED
    assert f"{migrations} failed, nothing rolled out: OperationalError: connection refused" in out
    assert aws.image_of(name) == image(name, "1")


def test_a_version_failing_its_init_on_the_schema_is_refused(aws: Aws) -> None:
    """On Lambda a version whose database is behind fails its init (SchemaBehind): moto cannot
    run an image, so its invocation is answered as Lambda answers such an init error."""
    name = aws.function()

    class InitError:
        def __getattr__(self, attribute: str) -> Any:
            return getattr(aws.lambda_, attribute)

        def invoke(self, **kwargs: Any) -> Mapping[str, Any]:
            assert kwargs["Qualifier"] == "2" and json.loads(kwargs["Payload"]) == {"queuefirst": "schema"}
            error = {
                "errorType": "SchemaBehind",
                "errorMessage": "the database schema is at revision 0002 ...",
            }
            return {"FunctionError": "Unhandled", "Payload": io.BytesIO(json.dumps(error).encode())}

    code, out = run(aws, name, "--image", image(name, "7"), lambda_api=InitError())
    assert code == deploy.EXIT_REFUSED
    assert "version 2 refused to start: SchemaBehind: the database schema is at revision 0002" in out
    assert "--migrate" in out
    assert aws.alias(name)["FunctionVersion"] == "1"


def test_an_image_that_does_not_answer_the_probe_needs_an_explicit_skip(aws: Aws) -> None:
    name = aws.function()
    aws.answers({"batchItemFailures": []})  # what a worker built before the probe answers
    code, out = run(aws, name, "--image", image(name, "8"))
    assert code == deploy.EXIT_REFUSED and "--skip-schema-check" in out
    assert aws.alias(name)["FunctionVersion"] == "1"
    code, out = run(aws, name, "--image", image(name, "8"), "--skip-schema-check")
    assert code == 0, out
    assert aws.alias(name)["FunctionVersion"] == "3"
    assert aws.unread_answers() == 0


def test_dry_run_changes_nothing(aws: Aws) -> None:
    name = aws.function()
    before_image = aws.image_of(name)
    code, out = run(aws, name, "--image", image(name, "5"), "--strategy", "canary", "--migrate", "--dry-run")
    assert code == 0, out
    assert aws.alias(name)["FunctionVersion"] == "1"
    assert aws.image_of(name) == before_image
    versions = aws.lambda_.list_versions_by_function(FunctionName=name)["Versions"]
    assert sorted(v["Version"] for v in versions) == ["$LATEST", "1"]
    assert "live now serves version 1" in out
    assert "1. invoke shop-migrations: migrate the database to its head" in out
    assert "probe the new version" in out
    assert "route 10% of alias live to the new version" in out


def test_malformed_image_is_refused(aws: Aws) -> None:
    name = aws.function()
    code, out = run(aws, name, "--image", "not an image")
    assert code == deploy.EXIT_REFUSED
    assert "is not an image reference" in out


def test_without_an_image_it_rolls_out_the_recorded_one(aws: Aws, tmp_path: Path) -> None:
    name = aws.function()
    record = tmp_path / "images.json"
    ReleaseRecord({}).with_image(name, RecordedImage(image(name, "a"), "f" * 64)).save(record)
    aws.answers(probe_answer())
    code, out = run(aws, name, "--record", str(record))
    assert code == 0, out
    assert aws.image_of(name) == image(name, "a") and aws.alias(name)["FunctionVersion"] == "2"
    assert ReleaseRecord.load(record).fingerprint_of(name) == "f" * 64  # the same image: kept as it was
    code, out = run(aws, "shop-unrecorded-worker", "--record", str(record))
    assert code == deploy.EXIT_REFUSED and "records no image for shop-unrecorded-worker" in out


def test_an_image_given_is_recorded_once_live_serves_it_and_not_when_refused(
    aws: Aws, tmp_path: Path
) -> None:
    """So the next `cdk deploy`, which reads the same record, does not roll it back."""
    name = aws.function()
    record = tmp_path / "images.json"
    ReleaseRecord({}).with_image(name, RecordedImage(image(name, "1"), "f" * 64)).save(record)
    aws.answers(probe_answer(needs="0003", ok=False))
    code, out = run(aws, name, "--image", image(name, "b"), "--record", str(record))
    assert code == deploy.EXIT_REFUSED
    assert ReleaseRecord.load(record).get(name) == RecordedImage(image(name, "1"), "f" * 64)
    aws.answers(probe_answer())
    code, out = run(aws, name, "--image", image(name, "b"), "--record", str(record))
    assert code == 0, out
    # Built from what, it cannot know: no fingerprint, so the next release rebuilds it.
    assert ReleaseRecord.load(record).get(name) == RecordedImage(image(name, "b"))
    assert f"{name}: recorded {image(name, 'b')} in {record}" in out


def test_without_a_record_a_deploy_creates_none(aws: Aws, tmp_path: Path) -> None:
    """A record naming this one function would leave every other one to the bootstrap tag."""
    name = aws.function()
    aws.answers(probe_answer())
    code, out = run(aws, name, "--image", image(name, "c"), "--record", str(tmp_path / "images.json"))
    assert code == 0, out
    assert not (tmp_path / "images.json").exists()
    assert "no release record at" in out
