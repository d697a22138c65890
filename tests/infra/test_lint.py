"""cfn-lint and checkov over every synthesized template.

AWS itself can't run here, so the templates are what gets checked. checkov
may live in its own virtualenv (its pins clash with the project's): set
CHECKOV to its executable, or put it on PATH; the skips it may use are all
in infra/checkov-skips.yaml, each with its reason.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.infra_helpers import Synthesized, find_tool

yaml = importlib.import_module("yaml")  # PyYAML comes with cfn-lint; no stubs needed
ROOT = Path(__file__).resolve().parents[2]
SKIPS_FILE = ROOT / "infra" / "checkov-skips.yaml"


def template_dir(synthesized: Synthesized, tmp_path: Path) -> Path:
    """Only the templates (the cloud assembly also holds manifests and the trigger's asset)."""
    for path in synthesized.template_files():
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_cfn_lint_finds_no_errors(synthesized: Synthesized) -> None:
    tool = find_tool("cfn-lint", "CFN_LINT")
    assert tool, "cfn-lint is not installed"
    files = [str(p) for p in synthesized.template_files()]
    assert len(files) == len(synthesized.templates)
    result = subprocess.run([tool, "--format", "json", *files], capture_output=True, text=True, timeout=300)
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    assert not errors, json.dumps(errors, indent=1)


def load_skips() -> dict[str, str]:
    document = yaml.safe_load(SKIPS_FILE.read_text(encoding="utf-8"))
    skips = {entry["id"]: str(entry.get("reason") or "").strip() for entry in document["skips"]}
    return skips


def test_every_checkov_skip_has_a_reason() -> None:
    skips = load_skips()
    assert skips
    for check, reason in skips.items():
        assert check.startswith("CKV"), check
        assert len(reason) > 20, f"{check} needs a reason"


def test_checkov_passes_with_only_the_listed_skips(synthesized: Synthesized, tmp_path: Path) -> None:
    tool = find_tool("checkov", "CHECKOV", str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    if tool is None:
        # `make test` installs it; only a bare pytest run outside CI may lack it.
        assert not os.environ.get("CI"), "checkov is missing in CI: make test installs .venv-checkov"
        pytest.skip("checkov not installed: run make test, or set CHECKOV to its executable")
    directory = template_dir(synthesized, tmp_path)
    result = subprocess.run(
        [
            tool,
            "--directory",
            str(directory),
            "--framework",
            "cloudformation",
            "--skip-check",
            ",".join(sorted(load_skips())),
            "--compact",
            "--quiet",
            "--output",
            "cli",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed checks" in result.stdout, result.stdout + result.stderr
