"""How commands show numbers, commits, metrics and a stack's change set."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

VERDICTS = {"DRY-RUN": "dry run: nothing executed", "NONE": "no changes", "CREATE": "created", "UPDATE": "updated"}


def number(value: object) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}" if isinstance(value, float) else "-"


def metrics(values: dict) -> str:
    """`name=value` pairs, floats to 4 decimals."""
    return " ".join(f"{k}={v}" if isinstance(v, int) else f"{k}={v:.4f}" for k, v in values.items()) or "-"


def commit(record: dict) -> str:
    """A run's or a build's git commit, short, with `+dirty` when the tree had changes."""
    found = record.get("git_commit")
    return f"{found[:7]}{'+dirty' if record.get('git_dirty') else ''}" if found else "-"


def stack_change(out: Console, stack: str, title: str, parameters: dict, changes: list, action: str) -> None:
    """A stack's parameters, its change set and what became of it (deploy, bootstrap)."""
    table = Table("parameter", "value", title=title)
    for key, shown in parameters.items():
        table.add_row(key, shown)
    out.print(table)
    if changes:
        listed = Table("action", "resource", "type", title="change set")
        for change in changes:
            listed.add_row(*change)
        out.print(listed)
    out.print(f"stack {stack}: {VERDICTS[action]}")
