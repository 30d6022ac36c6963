"""Showing a list of reconcile actions as text, markdown or JSON (pure: strings in, strings out)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bbops.core.report import TextOut
from bbops.infra.diff import Action

SYMBOL = {"create": "+", "update": "~", "delete": "-", "no-op": "="}


def summary(actions: Sequence[Action]) -> dict[str, int]:
    counts = {"create": 0, "update": 0, "delete": 0, "no-op": 0}
    for action in actions:
        counts[action.op] += 1
    return counts


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def text(actions: Sequence[Action], *, show_noop: bool = False) -> str:
    lines = []
    for action in actions:
        if not action.pending and not show_noop:
            continue
        lines.append(f"{SYMBOL[action.op]} {action.op} {action.address}")
        for change in action.changes:
            lines.append(f"    {change.field}: {_value(change.before)} -> {_value(change.after)}")
        if action.blocked:
            lines.append(f"    ! cannot apply: {action.blocked}")
    c = summary(actions)
    lines.append(
        f"Plan: {c['create']} to create, {c['update']} to update, {c['delete']} to delete, {c['no-op']} unchanged."
    )
    return "\n".join(lines)


def markdown(actions: Sequence[Action]) -> str:
    pending = [a for a in actions if a.pending]
    c = summary(actions)
    head = (
        f"**Infrastructure plan:** {c['create']} to create, {c['update']} to update, "
        f"{c['delete']} to delete, {c['no-op']} unchanged."
    )
    if not pending:
        return head + "\n\nNo changes: the infrastructure matches the plan."
    rows = ["| | Resource | Field | Before | After |", "|---|---|---|---|---|"]
    for action in pending:
        changes = action.changes or ()
        for i, change in enumerate(changes):
            first = i == 0
            rows.append(
                f"| {SYMBOL[action.op] if first else ''} | {f'`{action.address}`' if first else ''} | "
                f"{change.field} | {_cell(change.before)} | {_cell(change.after)} |"
            )
        if action.blocked:
            rows.append(f"| ! | `{action.address}` | cannot apply | | {_cell(action.blocked)} |")
    return head + "\n\n" + "\n".join(rows)


def _cell(value: Any) -> str:
    return _value(value).replace("|", "\\|").replace("\n", " ")


def as_dict(actions: Sequence[Action]) -> dict[str, Any]:
    return {"summary": summary(actions), "actions": [a.as_dict() for a in actions]}


def as_json(actions: Sequence[Action]) -> str:
    return json.dumps(as_dict(actions), indent=2, default=str)


@dataclass(frozen=True)
class InfraPlan:
    """`bbops plan`'s result: every action, pending or not, in each output format."""

    actions: Sequence[Action]

    @property
    def pending(self) -> list[Action]:
        return [a for a in self.actions if a.pending]

    def as_dict(self) -> dict[str, Any]:
        return as_dict(self.actions)

    def write_text(self, out: TextOut) -> None:
        out.line(text(self.actions))

    def markdown(self) -> str:
        return markdown(self.actions)
