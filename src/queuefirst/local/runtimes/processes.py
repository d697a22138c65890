"""What Linux's /proc says of a process's children (the local runtimes run on Linux only:
`aws-lambda-rie` is a Linux binary)."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def live_children(pid: int) -> list[int] | None:
    """The process's children that have not exited (zombies excluded); None where /proc cannot tell."""
    tasks = PROC / str(pid) / "task"
    try:
        # A child belongs to the thread that forked it: read every thread's list.
        children = [int(c) for task in tasks.iterdir() for c in (task / "children").read_text().split()]
    except (OSError, ValueError):
        return None
    return [child for child in children if _running(child)]


def _running(pid: int) -> bool:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may hold spaces.
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
