"""The "Migration review" section of the PR comment: verdict, lint findings, measured table, lock timeline.

Pure rendering of the ``review`` object of the preview report (``Measured.as_dict``),
so ``bbops comment preview`` can build it from the report's JSON alone. The
timeline is a mermaid gantt chart, which GitHub renders in comments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bbops.core.report import human_bytes
from bbops.review.finding import Finding
from bbops.review.reporters import markdown as findings_markdown

HEADING = "### Migration review"
_ICON = {"ok": "✅", "review": "⚠️", "blocking": "❌"}
_LABEL = {"ok": "no blocking measured", "review": "review", "blocking": "blocks traffic"}
MAX_ROWS = 40
MAX_TASKS = 60


def render_review(review: Mapping[str, Any], parent: str | None = None) -> list[str]:
    """Markdown lines for the comment; ``parent`` names the branch whose data the preview copies."""
    verdict = review.get("verdict") or {}
    level = str(verdict.get("level", "ok"))
    parts = [HEADING, "", f"**{_ICON.get(level, '')} {_LABEL.get(level, level)}**: {verdict.get('text', '')}", ""]
    findings = [Finding.from_dict(f) for f in review.get("findings") or ()]
    active = [f for f in findings if f.active]
    parts += [f"**Lint** ({len(active)} finding{'s' if len(active) != 1 else ''})", findings_markdown(findings), ""]
    statements = list(review.get("statements") or ())
    where = f"a copy of `{parent}`'s data" if parent else "a copy of the parent's data"
    parts.append(f"**Measured on the preview** ({where})")
    if not statements:
        parts += ["_no migration ran on this update_", ""]
        return parts
    parts += [*measured_table(statements, review.get("tables") or {}), ""]
    gantt = timeline(review.get("spans") or ())
    if gantt:
        parts += ["<details open>", "<summary>Lock timeline</summary>", "", *gantt, "", "</details>", ""]
    for note in review.get("notes") or ():
        parts.append(f"<sub>note: {note}</sub>")
    return parts


def _seconds(value: float) -> str:
    return "0 s" if value < 0.0005 else f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def _size(n: float) -> str:
    return human_bytes(n, largest="GB")


def _short(table: str) -> str:
    return table.removeprefix("public.")


def _sql(text: str) -> str:
    code = " ".join(line for line in text.splitlines() if not line.strip().startswith("--"))
    code = re.sub(r"\s+", " ", code).strip()
    code = code if len(code) <= 70 else code[:67] + "..."
    return "`" + code.replace("`", "'").replace("|", "\\|") + "`"


def measured_table(statements: Sequence[Mapping[str, Any]], tables: Mapping[str, Any]) -> list[str]:
    rows = [
        "| Migration | Line | Statement | Took | Locks | Rows, size | Reads blocked | Writes blocked |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in statements[:MAX_ROWS]:
        locks = ", ".join(f"{x['mode']} on {_short(x['table'])}" for x in s.get("locks") or ()) or "-"
        names = [x["table"] for x in s.get("locks") or () if x["table"] in tables]
        sizes = ", ".join(
            f"{_short(t)}: {tables[t]['rows']:,} rows, {human_bytes(int(tables[t]['bytes']), largest='GB')}"
            for t in dict.fromkeys(names)
        )
        reads, writes = float(s.get("reads_blocked_s", 0)), float(s.get("writes_blocked_s", 0))
        rows.append(
            f"| {s['migration']} | {s['line']} | {_sql(str(s.get('sql', '')))} | {_seconds(float(s['duration_s']))} "
            f"| {locks} | {sizes or '-'} | {_flag(reads)} | {_flag(writes)} |"
        )
    if len(statements) > MAX_ROWS:
        rows.append(f"| … | | {len(statements) - MAX_ROWS} more statements (see the job summary) | | | | | |")
    return rows


def _flag(blocked: float) -> str:
    return f"**{_seconds(blocked)}**" if blocked >= 0.1 else _seconds(blocked)


def _task(text: str) -> str:
    return re.sub(r"[:#;,]", " ", text).strip()


def timeline(spans: Sequence[Mapping[str, Any]]) -> list[str]:
    """A mermaid gantt: per migration, its lock spans and the stretches reads and writes were blocked."""
    if not spans:
        return []
    end = max(float(s["end_s"]) for s in spans)
    axis = "%S.%L s" if end < 60 else "%M:%S"
    lines = [
        "```mermaid",
        "gantt",
        "    title Locks held and traffic blocked (time since the first migration started)",
        "    dateFormat x",
        f"    axisFormat {axis}",
    ]
    section = None
    for s in list(spans)[:MAX_TASKS]:
        if s["migration"] != section:
            section = s["migration"]
            lines.append(f"    section {_task(str(section))}")
        start = int(float(s["start_s"]) * 1000)
        stop = max(int(float(s["end_s"]) * 1000), start + 1)
        if s["kind"] == "lock":
            name, tag = f"{s['label']} on {_short(s['table'])}", "active"
        else:
            name, tag = f"{s['kind']} blocked on {_short(s['table'])}", "crit"
        lines.append(f"    {_task(name)} :{tag}, {max(start, 0)}, {stop}")
    lines.append("```")
    return lines
