"""What the measured review found, as data: per statement its duration, locks and blocked reads/writes.

``build`` turns the Recorder's raw observations into this model: locks are
attributed to the statement that took them (the post-statement snapshot, plus
the sampler for locks released before it looked), lock spans run until the
transaction ends, and the probes' blocked intervals are merged per kind.
Times in the model are seconds since the first migration started.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bbops.review.finding import Finding, Severity
from bbops.review.probe import SAMPLE_EVERY_S, LockSeen
from bbops.review.tables import TableStats

Interval = tuple[float, float]
# Two blocked attempts this close together are one blocked stretch: the gap is the probe's own round trip.
SAME_STRETCH_S = 0.025
REVIEW_AFTER_S = 0.1  # a read or write blocked this long deserves a look
BLOCKING_AFTER_S = 1.0  # ... and this long is an outage for a busy table


@dataclass
class StatementRun:
    number: int
    line: int
    sql: str
    start: float
    end: float = 0.0
    snapshot: set[tuple[str, str]] = field(default_factory=set)  # (table, mode) held right after it


@dataclass
class MigrationRun:
    tag: str
    transactional: bool
    start: float
    end: float = 0.0
    statements: list[StatementRun] = field(default_factory=list)
    seen: list[LockSeen] = field(default_factory=list)
    blocked: list[tuple[str, str, int, list[Interval]]] = field(default_factory=list)  # table, kind, pid, spans


def mode_name(mode: str) -> str:
    """pg_locks' ``AccessExclusiveLock`` as the manual writes it: ``ACCESS EXCLUSIVE``."""
    words, word = [], ""
    for ch in mode.removesuffix("Lock"):
        if ch.isupper() and word:
            words.append(word)
            word = ""
        word += ch
    return " ".join([*words, word]).upper()


def merge(intervals: Iterable[Interval], gap: float = 0.0) -> list[Interval]:
    out: list[Interval] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1] + gap:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def overlap(intervals: list[Interval], window: Interval) -> float:
    return sum(max(0.0, min(e, window[1]) - max(s, window[0])) for s, e in intervals)


@dataclass(frozen=True)
class StatementMeasure:
    tag: str
    number: int
    line: int
    sql: str
    start_s: float
    duration_s: float
    locks: tuple[tuple[str, str], ...]  # (table, MODE)
    reads_blocked_s: float
    writes_blocked_s: float


@dataclass(frozen=True)
class Span:
    kind: str  # "lock" | "reads" | "writes"
    tag: str
    table: str
    label: str  # the lock mode, or "blocked"
    start_s: float
    end_s: float


@dataclass
class Measured:
    statements: list[StatementMeasure]
    migrations: list[dict[str, Any]]  # tag, transactional, duration_s, reads/writes_blocked_s, worst table
    spans: list[Span]
    tables: dict[str, TableStats]
    notes: list[str]
    findings: tuple[Finding, ...] = ()

    def verdict(self) -> tuple[str, str]:
        """("ok" | "review" | "blocking", one sentence for the comment)."""
        errors = [f for f in self.findings if f.active and f.severity is Severity.ERROR]
        worst = max(self.migrations, key=lambda m: m["blocked_s"], default=None)
        if worst and worst["blocked_s"] >= REVIEW_AFTER_S:
            table = worst["table"]
            rows = self.tables[table].rows if table in self.tables else None
            what = "writes" if worst["writes_blocked_s"] >= worst["reads_blocked_s"] else "reads"
            size = f" ({rows:,} rows)" if rows is not None else ""
            text = (
                f"{worst['tag']} blocked {what} on {table.removeprefix('public.')}{size} for {worst['blocked_s']:.1f} s"
            )
            return ("blocking" if worst["blocked_s"] >= BLOCKING_AFTER_S else "review"), text
        if errors:
            return "review", f"no blocking measured, but {len(errors)} lint error(s) to look at"
        if not self.statements:
            return "ok", "no migration ran"
        return "ok", f"no read or write waited {REVIEW_AFTER_S * 1000:.0f} ms or more"

    def as_dict(self) -> dict[str, Any]:
        level, text = self.verdict()
        return {
            "verdict": {"level": level, "text": text},
            "findings": [f.as_dict() for f in self.findings],
            "migrations": self.migrations,
            "statements": [
                {
                    "migration": s.tag,
                    "number": s.number,
                    "line": s.line,
                    "sql": s.sql[:200],
                    "start_s": round(s.start_s, 3),
                    "duration_s": round(s.duration_s, 3),
                    "locks": [{"table": t, "mode": m} for t, m in s.locks],
                    "reads_blocked_s": round(s.reads_blocked_s, 3),
                    "writes_blocked_s": round(s.writes_blocked_s, 3),
                }
                for s in self.statements
            ],
            "spans": [
                {
                    "kind": x.kind,
                    "migration": x.tag,
                    "table": x.table,
                    "label": x.label,
                    "start_s": round(x.start_s, 3),
                    "end_s": round(x.end_s, 3),
                }
                for x in self.spans
            ],
            "tables": {k: v.as_dict() for k, v in self.tables.items()},
            "notes": self.notes,
        }


def build(runs: list[MigrationRun], tables: dict[str, TableStats], notes: list[str]) -> Measured:
    origin = runs[0].start if runs else 0.0
    out = Measured([], [], [], tables, notes)
    for run in runs:
        _one(run, origin, out)
    return out


def _one(run: MigrationRun, origin: float, out: Measured) -> None:
    taken: list[list[tuple[str, str]]] = [[] for _ in run.statements]
    held: set[tuple[str, str]] = set()
    for i, s in enumerate(run.statements):
        for lock in sorted(s.snapshot - held):
            taken[i].append(lock)
        held |= s.snapshot
    last_seen: dict[tuple[str, str], float] = {}
    for obs in run.seen:
        if obs.waiting_probe is not None:
            continue
        key = (obs.table, obs.mode)
        last_seen[key] = obs.at
        during = max((j for j, s in enumerate(run.statements) if s.start <= obs.at), default=None)
        if during is not None and key not in held:
            taken[during].append(key)
            held.add(key)
    # Per kind, the union over tables of the probes' blocked time (timed-out attempts and sampled waits).
    by_probe = {pid: (table, kind) for table, kind, pid, _ in run.blocked}
    spans: dict[tuple[str, str], list[Interval]] = {}
    for table, kind, _, intervals in run.blocked:
        spans.setdefault((table, kind), []).extend(intervals)
    for obs in run.seen:
        if obs.waiting_probe in by_probe:
            spans.setdefault(by_probe[obs.waiting_probe], []).append((obs.at, obs.at + SAMPLE_EVERY_S))
    merged = {k: merge(v, SAME_STRETCH_S) for k, v in spans.items()}
    kinds = {kind: merge(x for (_, k), v in merged.items() if k == kind for x in v) for kind in ("read", "write")}
    for i, s in enumerate(run.statements):
        last = i == len(run.statements) - 1
        window = (s.start, run.end if last and run.transactional else s.end)
        out.statements.append(
            StatementMeasure(
                run.tag, s.number, s.line, s.sql, s.start - origin, s.end - s.start,
                tuple((t, mode_name(m)) for t, m in taken[i]),
                overlap(kinds["read"], window), overlap(kinds["write"], window),
            )
        )  # fmt: skip
        for t, m in taken[i]:
            end = run.end if run.transactional else max(s.end, last_seen.get((t, m), s.end))
            out.spans.append(Span("lock", run.tag, t, mode_name(m), s.start - origin, end - origin))
    for (table, kind), intervals in merged.items():
        for a, b in intervals:
            out.spans.append(Span(f"{kind}s", run.tag, table, "blocked", a - origin, b - origin))
    whole = (run.start, run.end)
    per_table = {k: overlap(v, whole) for k, v in merged.items()}
    worst = max(per_table, key=lambda k: per_table[k], default=("", ""))
    reads, writes = overlap(kinds["read"], whole), overlap(kinds["write"], whole)
    out.migrations.append(
        {
            "tag": run.tag,
            "transactional": run.transactional,
            "duration_s": round(run.end - run.start, 3),
            "reads_blocked_s": round(reads, 3),
            "writes_blocked_s": round(writes, 3),
            "blocked_s": round(max(reads, writes), 3),
            "table": worst[0],
        }
    )
