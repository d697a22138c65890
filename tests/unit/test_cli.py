"""The `queuefirst` command's registry views, run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from queuefirst.local import LocalIssuer
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst.ops.cli import main


@pytest.fixture
def notes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUEFIRST_APPLICATION", "notes")


def test_graph_prints_the_hierarchy_as_a_tree(notes: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "notes"
    assert out[1].startswith("└── boards") and out[1].endswith("actions close")
    assert out[2].startswith("    └── cards") and out[2].endswith("actions complete")


def test_graph_mermaid_draws_child_edges_solid_and_ask_edges_dotted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["graph", "--mermaid"]) == 0  # the project's application: the shop
    out = capsys.readouterr().out
    assert out.startswith("flowchart TD")
    assert "customers -->|admits| orders" in out and "orders -->|admits| order_items" in out
    assert "products ==>|answers| order_items" in out and "order_items ==>|answers| orders" in out
    assert "order_items -.->|asks| products" in out


def test_graph_check_passes(notes: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--check"]) == 0
    assert "2 entities, 0 ask edge(s), 0 answer edge(s), no cycles" in capsys.readouterr().out


def test_graph_check_fails_naming_the_cycle(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUEUEFIRST_APPLICATION", "cyclic")
    assert main(["graph", "--check"]) == 1
    assert "cycle in entity graph: a -> b (child) -> a (child)" in capsys.readouterr().err


def test_a_missing_application_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUEUEFIRST_APPLICATION", "no_such_app")
    assert main(["graph"]) == 1
    assert capsys.readouterr().err.startswith("queuefirst: application 'no_such_app' cannot be imported")


def test_an_unknown_entity_is_one_clear_line(notes: None, capsys: pytest.CaptureFixture[str]) -> None:
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


def test_endpoints_come_from_the_stacks_state_with_nothing_exported(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from queuefirst.local import DevState
    from queuefirst.ops.endpoints import find_endpoints

    home = Path(str(tmp_path))
    DevState(
        pid=1,
        gateway_url="http://127.0.0.1:3000",
        database_url="postgresql://u@127.0.0.1:5/db",
        sqs_endpoint_url="http://127.0.0.1:6",
        region="eu-west-3",
    ).write(home)
    for variable in (
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "DATABASE_URL",
        "SQS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("QUEUEFIRST_HOME", str(home))
    found = find_endpoints()
    assert (found.database_url, found.sqs_endpoint_url, found.region, found.local) == (
        "postgresql://u@127.0.0.1:5/db",
        "http://127.0.0.1:6",
        "eu-west-3",  # the stack's queues are in its region, whatever boto3's default
        True,
    )
    import os

    assert os.environ["AWS_ACCESS_KEY_ID"] == "local"  # boto3 signs with the state's dummy keys
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert find_endpoints().region == "ap-south-1"


def test_token_prints_a_token_the_local_gateway_accepts(
    notes: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUEUEFIRST_HOME", str(tmp_path))
    assert main(["token", "user", "ann", "--expires-in", "120"]) == 0
    token = capsys.readouterr().out.strip()
    claims = LocalIssuer(tmp_path, "notes").authorizer(USERS).authorize(f"Bearer {token}")["jwt"]["claims"]
    assert claims["sub"] == "ann" and int(claims["exp"]) - int(claims["iat"]) == 120
    assert main(["token", "operator", "alice"]) == 0
    token = capsys.readouterr().out.strip()
    assert LocalIssuer(tmp_path, "notes").authorizer(OPERATORS).authorize(token)["jwt"]["claims"][
        "username"
    ] == ("alice")
    assert main(["token", "user", "ann", "--expires-in", "0"]) == 1
    assert "--expires-in must be at least 1 second" in capsys.readouterr().err
