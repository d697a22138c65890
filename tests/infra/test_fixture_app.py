"""The kit's fixture application (notes: boards and their cards) synthesizes as any
application does: the infra takes its names, entities and edges from the registry
it is given and knows nothing of the shop.

AWS itself can't run here: the templates are synthesized and checked, never deployed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from queuefirst.model import names
from queuefirst.model.registry import Registry
from queuefirst_infra import naming
from tests.infra.infra_helpers import Synthesized, find_tool, images_for, synthesize
from tests.infra.test_iam import allowed, queue_arn


@pytest.fixture(scope="module")
def notes_synthesized(notes: Registry, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(notes, tmp_path_factory.mktemp("notes-cdk.out"), {"images": images_for(notes)})


def test_one_stack_per_entity_named_after_the_application(notes_synthesized: Synthesized) -> None:
    stacks = set(notes_synthesized.templates)
    assert {naming.entity_stack_name("notes", e) for e in ("boards", "cards")} <= stacks
    assert all(name.startswith("notes-") for name in stacks), stacks
    text = json.dumps(notes_synthesized.templates)
    assert "shop" not in text and "customers" not in text


def test_each_worker_sends_only_along_the_fixture_apps_own_edges(notes_synthesized: Synthesized) -> None:
    boards = notes_synthesized.templates[naming.entity_stack_name("notes", "boards")]
    cards = notes_synthesized.templates[naming.entity_stack_name("notes", "cards")]
    cards_queue = queue_arn(names.queue_name("notes", "cards"))
    boards_queue = queue_arn(names.queue_name("notes", "boards"))
    assert allowed(boards, "sqs:SendMessage", cards_queue)  # its child
    assert not allowed(boards, "sqs:SendMessage", boards_queue)
    assert not allowed(cards, "sqs:SendMessage", cards_queue)
    assert not allowed(cards, "sqs:SendMessage", boards_queue)  # a child never asks its parent


def test_cfn_lint_finds_no_errors_in_the_fixture_apps_templates(
    notes_synthesized: Synthesized, tmp_path: Path
) -> None:
    tool = find_tool("cfn-lint", "CFN_LINT")
    assert tool, "cfn-lint is not installed"
    files = [str(p) for p in notes_synthesized.template_files()]
    result = subprocess.run([tool, "--format", "json", *files], capture_output=True, text=True, timeout=300)
    errors = [f for f in json.loads(result.stdout or "[]") if f["Level"] == "Error"]
    assert not errors, json.dumps(errors, indent=1)
