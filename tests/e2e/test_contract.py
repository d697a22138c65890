"""The shop's api against its own OpenAPI document: schemathesis over `queuefirst dev`.

Every default check (no 5xx, status codes, content types, headers and bodies
as documented, valid data accepted, invalid data refused, unsupported methods
405 with `Allow`, resource checks) in every phase (coverage, fuzzing, and the
stateful phase along the document's links from each 202 to its command's
status), positive and negative data. `make test` runs a bounded pass with a
fixed seed; `make fuzz` (QUEUEFIRST_FUZZ_EXAMPLES) a long one with a fresh seed
and at least 2,000 cases. Either passes only with 0 failures and 0 errors.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

# Per operation: about 1,200 cases in about a minute here.
BOUNDED_EXAMPLES = 10
FUZZ_MINIMUM_CASES = 2000


def test_the_api_keeps_its_openapi_contract(shop_stack: RunningStack) -> None:
    fuzzing = "QUEUEFIRST_FUZZ_EXAMPLES" in os.environ
    examples = int(os.environ.get("QUEUEFIRST_FUZZ_EXAMPLES", BOUNDED_EXAMPLES))
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", f"{shop_stack.url}/openapi.json"),
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
