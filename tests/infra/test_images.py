"""A new image for one function changes that function's stack and no other.

AWS itself can't run here, so the app is synthesized twice (the session's
synthesis and one with a single digest changed) and the templates compared.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from queuefirst.model.registry import Registry
from queuefirst_infra import naming
from queuefirst_infra.config import ImageRef, InfraConfig, record_file
from queuefirst_infra.errors import InfraConfigError
from tests.infra.infra_helpers import Synthesized, image_uri, images_for, synthesize


def test_changing_one_workers_image_changes_only_its_stack(
    synthesized: Synthesized, registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> None:
    images = images_for(registry)
    images["shop-orders-worker"] = image_uri("shop-orders-worker", "9")
    # Through a file, as `cdk synth -c images=images.json` passes it.
    images_file = tmp_path_factory.mktemp("images") / "images.json"
    images_file.write_text(json.dumps(images), encoding="utf-8")
    changed = synthesize(registry, tmp_path_factory.mktemp("cdk.changed"), {"images": str(images_file)})

    differing = sorted(
        name for name in synthesized.templates if synthesized.templates[name] != changed.templates[name]
    )
    assert differing == [naming.entity_stack_name("shop", "orders")]
    assert "9" * 64 in json.dumps(changed.templates["shop-orders"])
    assert "9" * 64 not in json.dumps(synthesized.templates["shop-orders"])


def test_parse_image_references() -> None:
    digest = "sha256:" + "a" * 64
    assert ImageRef.parse("f", f"1.dkr.ecr.eu-west-1.amazonaws.com/shop-api@{digest}") == ImageRef(
        digest, "shop-api"
    )
    assert ImageRef.parse("f", "1.dkr.ecr.eu-west-1.amazonaws.com/shop-api:v42") == ImageRef(
        "v42", "shop-api"
    )
    assert ImageRef.parse("f", digest) == ImageRef(digest)
    assert ImageRef.parse("f", "v42").tag_or_digest == "v42"
    with pytest.raises(InfraConfigError, match="neither"):
        ImageRef.parse("f", "sha256:short")


def test_image_from_another_repository_is_refused(registry: Registry, tmp_path: Path) -> None:
    images = images_for(registry)
    images["shop-orders-worker"] = image_uri("shop-customers-worker", "2")
    with pytest.raises(InfraConfigError, match=r"shop-orders-worker.*shop-customers-worker"):
        synthesize(registry, tmp_path, {"images": images})


def test_images_context_as_missing_file_is_refused() -> None:
    with pytest.raises(InfraConfigError, match="no such file"):
        InfraConfig.from_context({"images": "/nonexistent/images.json"}.get)


def test_the_release_records_entries_are_read_as_their_images(tmp_path: Path) -> None:
    """What `queuefirst release` writes: an object per function, its image among what it keeps."""
    uri = image_uri("shop-orders-worker", "7")
    record = tmp_path / "images.json"
    record.write_text(json.dumps({"shop-orders-worker": {"image": uri, "fingerprint": "f" * 64}}))
    config = InfraConfig.from_context({"images": str(record)}.get)
    assert config.images == {"shop-orders-worker": uri}
    assert config.image("shop-orders-worker") == ImageRef("sha256:" + "7" * 64, "shop-orders-worker")
    record.write_text(json.dumps({"shop-orders-worker": {"fingerprint": "f" * 64}}))
    with pytest.raises(InfraConfigError, match="shop-orders-worker: a record entry needs an 'image'"):
        InfraConfig.from_context({"images": str(record)}.get)


def test_the_app_reads_the_record_beside_it_or_the_one_the_environment_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUEUEFIRST_RECORD", raising=False)
    assert record_file(tmp_path) is None  # before the first release: the bootstrap tag, with a warning
    (tmp_path / "images.json").write_text("{}")
    assert record_file(tmp_path) == tmp_path / "images.json"
    monkeypatch.setenv("QUEUEFIRST_RECORD", str(tmp_path / "elsewhere.json"))
    assert record_file(tmp_path) is None
