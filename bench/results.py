"""Where the benchmarks write their tables: bench/results/latest.md, one section each."""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path

LATEST = Path(__file__).resolve().parent / "results" / "latest.md"


def machine() -> str:
    cores = os.cpu_count()
    return f"{platform.system()} {platform.machine()}, {cores} cores, Python {platform.python_version()}"


def record(section: str, table: str) -> None:
    """Replace (or add) `section` in latest.md, stamped with the date and the machine."""
    LATEST.parent.mkdir(exist_ok=True)
    text = LATEST.read_text() if LATEST.exists() else "# Benchmark results\n\nWritten by `make bench`.\n"
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    block = f"## {section}\n\n{stamp}, {machine()}\n\n{table.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(block + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    LATEST.write_text(text)
