"""The shop's api against its own OpenAPI document: schemathesis over `queuefirst dev`.

Every default check (no 5xx, status codes, content types, headers and bodies
as documented, valid data accepted, invalid data refused, unsupported methods
405 with `Allow`, resource checks) in every phase (coverage, fuzzing, and the
stateful phase along the document's links from each 202 to its command's
status), positive and negative data. `make test` runs a bounded pass with a
fixed seed; `make fuzz` (QUEUEFIRST_FUZZ_EXAMPLES) a long one with a fresh seed
and at least 2,000 cases. Either passes only with 0 failures and 0 errors.

Each operation gets the token of its security scheme (an end user's or an
operator's, from the stack's local issuer), as the document declares them;
schemathesis' `ignored_auth` check also sends it none and a bad one, which
the gateway refuses with 401.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from queuefirst.local import LocalIssuer
from queuefirst.model.command import Command
from queuefirst.model.names import queue_name
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst.runtime.sender import batch_entry
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

# Per operation: about 1,200 cases in about a minute here.
BOUNDED_EXAMPLES = 10
FUZZ_MINIMUM_CASES = 2000


def test_the_api_keeps_its_openapi_contract(shop_stack: RunningStack, tmp_path: Path) -> None:
    fuzzing = "QUEUEFIRST_FUZZ_EXAMPLES" in os.environ
    examples = int(os.environ.get("QUEUEFIRST_FUZZ_EXAMPLES", BOUNDED_EXAMPLES))
    issuer = LocalIssuer(shop_stack.home, "shop")
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'[auth.openapi.{USERS}]\nbearer = "{issuer.mint(USERS, "schemathesis", expires_in=7200)}"\n'
        f'[auth.openapi.{OPERATORS}]\nbearer = "{issuer.mint(OPERATORS, "schemathesis", expires_in=7200)}"\n'
    )
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config)),
        *("run", f"{shop_stack.url}/openapi.json"),
        *("--checks", "all", "--mode", "all", "--phases", "examples,coverage,fuzzing,stateful"),
        *("--max-examples", str(examples), "--generation-database", "none"),
        # One worker: schemathesis' own threads trip CPython 3.11's AST recursion check.
        *("--workers", "1", "--no-color", "--request-timeout", "35"),
    ]
    if not fuzzing:
        command += ["--seed", "20260401"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    summary = result.stdout[-3000:]
    print(summary)  # the case count and seed, in the test log
    counted = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert result.returncode == 0 and counted, f"schemathesis found failures:\n{result.stdout[-20000:]}"
    generated, passed = int(counted[1]), int(counted[2])
    assert generated == passed
    assert generated >= (FUZZ_MINIMUM_CASES if fuzzing else 500), summary
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅ {phase}", result.stdout), f"{phase} did not run and pass:\n{summary}"


def test_a_message_with_a_binary_attribute_is_delivered(shop_stack: RunningStack) -> None:
    """Its event could not be serialised, so it retried into the dead-letter queue."""
    import boto3

    state = shop_stack.state
    client = boto3.client(
        "sqs",
        endpoint_url=state["sqs_endpoint_url"],
        region_name=state["region"],
        aws_access_key_id=state["aws_access_key_id"],
        aws_secret_access_key=state["aws_secret_access_key"],
    )
    command = Command(
        command_id=uuid.uuid4(),
        entity="customers",
        op="create",
        key="bin:ary",
        version=1,
        payload={"email": "b@example.com", "name": "Binary"},
    )
    entry = batch_entry(0, command)
    entry["MessageAttributes"]["trace"] = {"DataType": "Binary", "BinaryValue": b"\x00\xff"}
    url = client.get_queue_url(QueueName=queue_name("shop", "customers"))["QueueUrl"]
    client.send_message_batch(QueueUrl=url, Entries=[entry])
    # Percent-encoded in the path, decoded by the api: the same row.
    # Read by the customer it is: the row's id is their sub.
    shop_stack.eventually(
        lambda: shop_stack.request("GET", "/customers/bin%3Aary", as_user="bin:ary")[0] == 200, timeout=30
    )
    assert "shop-customers-worker batch of 1 -> ok" in shop_stack.log()
