"""The `queuefirst` command's registry views, run in-process."""

from __future__ import annotations

import pytest

from queuefirst.ops.cli import main


def test_graph_prints_the_hierarchy_as_a_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "shop"
    assert out[1].startswith("├── customers")
    assert out[2].startswith("│   └── orders")
    assert out[3].startswith("│       └── order_items")
    assert out[4].startswith("└── products")


def test_graph_mermaid_draws_every_edge(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--mermaid"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart TD")
    assert "customers -->|purge| orders" in out and "orders -->|purge| order_items" in out


def test_graph_check_passes_on_shop(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--check"]) == 0
    assert "4 entities" in capsys.readouterr().out


def test_graph_check_fails_naming_the_cycle(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUEUEFIRST_APPLICATION", "cyclic")
    assert main(["graph", "--check"]) == 1
    assert "cycle in entity hierarchy: a -> b -> a" in capsys.readouterr().err


def test_an_unknown_entity_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlq", "show", "widgets"]) == 1
    assert capsys.readouterr().err.strip().startswith("queuefirst: unknown entity 'widgets'")


def test_an_aws_failure_is_one_clear_line_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-orders-worker@sha256:" + "a" * 64
    code = main(
        [
            "deploy",
            "shop-orders-worker",
            "--image",
            image,
            "--dry-run",
            "--region",
            "eu-west-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("queuefirst: EndpointConnectionError: Could not connect to the endpoint URL")
    assert "Traceback" not in err
