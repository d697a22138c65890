"""`queuefirst graph`: the entity graph (children, asks, admissions, answers) as a tree or a mermaid
chart; `--check` loads every contract and every rules module, and refuses a bad graph naming it."""

from __future__ import annotations

import argparse
from typing import Any

from queuefirst.model.application import load_application
from queuefirst.model.registry import ASKS, CHILD, Registry, RegistryError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("graph", help="the entity hierarchy")
    parser.add_argument("--mermaid", action="store_true", help="as a mermaid flowchart")
    parser.add_argument("--check", action="store_true", help="exit non-zero on a bad registry")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Refuses a bad registry (a cycle, an answer nobody handles, a handler that asks down...),
    # naming the fault; with the rules, a declaration whose rule is missing, too.
    registry = load_application().registry(rules=args.check)
    if args.check:
        missing = {
            name: entity.missing_rules() for name, entity in registry.items() if entity.missing_rules()
        }
        if missing:
            listed = "; ".join(f"{name}: {', '.join(rules)}" for name, rules in missing.items())
            raise RegistryError(f"declared without a rule in the entity's rules module: {listed}")
        asks = sum(1 for *_, kind in registry.edges() if kind == ASKS)
        answers = len(registry.answer_edges())
        print(
            f"ok: {len(registry)} entities, {asks} ask edge(s), {answers} answer edge(s), no cycles, "
            "every parent and child edge declared on both sides, every answer handled and every "
            "handler reached by an answer sending nothing down, every declaration with its rule"
        )
        return 0
    print(mermaid(registry) if args.mermaid else tree(registry))
    return 0


def mermaid(registry: Registry) -> str:
    """Child edges solid (admitting ones say so), ask edges dotted, answer edges thick, upward."""
    lines = ["flowchart TD", "  api([api]) -->|commands| " + " & ".join(e.name for e in registry.roots())]
    for source, target, kind in registry.edges():
        admits = target in registry[source].admissions
        arrow = ("-->|admits|" if admits else "-->|children|") if kind == CHILD else "-.->|asks|"
        lines.append(f"  {source} {arrow} {target}")
    for source, target, _ in registry.answer_edges():
        lines.append(f"  {source} ==>|answers| {target}")
    return "\n".join(lines)


def tree(registry: Registry) -> str:
    lines = [registry.app]

    def visit(name: str, prefix: str, last: bool) -> None:
        entity = registry[name]
        scaling = entity.scaling
        asks = f"  asks {', '.join(entity.asks)}" if entity.asks else ""
        actions = f"  actions {', '.join(entity.actions)}" if entity.actions else ""
        admits = f"  admits {', '.join(entity.admissions)}" if entity.admissions else ""
        up = [target for source, target, _ in registry.answer_edges() if source == name]
        answers = f"  answers {', '.join(up)}" if up else ""
        lines.append(
            f"{prefix}{'└── ' if last else '├── '}{name}  (batch {scaling.batch_size}, "
            f"max concurrency {scaling.maximum_concurrency}, timeout {scaling.timeout_seconds}s)"
            f"{actions}{admits}{asks}{answers}"
        )
        for i, child in enumerate(entity.children):
            visit(child, prefix + ("    " if last else "│   "), i == len(entity.children) - 1)

    roots = registry.roots()
    for i, root in enumerate(roots):
        visit(root.name, "", i == len(roots) - 1)
    return "\n".join(lines)
