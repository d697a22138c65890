"""`queuefirst graph`: the entity graph (children and asks) as a tree or a mermaid chart; `--check`."""

from __future__ import annotations

import argparse
from typing import Any

from queuefirst.model.application import load_application
from queuefirst.model.registry import ASKS, CHILD, Registry


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("graph", help="the entity hierarchy")
    parser.add_argument("--mermaid", action="store_true", help="as a mermaid flowchart")
    parser.add_argument("--check", action="store_true", help="exit non-zero on a bad registry")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    registry = load_application().registry()  # refuses a bad registry, naming the fault
    if args.check:
        asks = sum(1 for *_, kind in registry.edges() if kind == ASKS)
        print(
            f"ok: {len(registry)} entities, {asks} ask edge(s), no cycles, "
            "every parent and child edge declared on both sides"
        )
        return 0
    print(mermaid(registry) if args.mermaid else tree(registry))
    return 0


def mermaid(registry: Registry) -> str:
    """Child edges solid, ask edges dotted."""
    lines = ["flowchart TD", "  api([api]) -->|commands| " + " & ".join(e.name for e in registry.roots())]
    for source, target, kind in registry.edges():
        arrow = "-->|children|" if kind == CHILD else "-.->|asks|"
        lines.append(f"  {source} {arrow} {target}")
    return "\n".join(lines)


def tree(registry: Registry) -> str:
    lines = [registry.app]

    def visit(name: str, prefix: str, last: bool) -> None:
        entity = registry[name]
        scaling = entity.scaling
        asks = f"  asks {', '.join(entity.asks)}" if entity.asks else ""
        actions = f"  actions {', '.join(entity.actions)}" if entity.actions else ""
        lines.append(
            f"{prefix}{'└── ' if last else '├── '}{name}  (batch {scaling.batch_size}, "
            f"max concurrency {scaling.maximum_concurrency}, timeout {scaling.timeout_seconds}s)"
            f"{actions}{asks}"
        )
        for i, child in enumerate(entity.children):
            visit(child, prefix + ("    " if last else "│   "), i == len(entity.children) - 1)

    roots = registry.roots()
    for i, root in enumerate(roots):
        visit(root.name, "", i == len(roots) - 1)
    return "\n".join(lines)
