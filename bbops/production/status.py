"""`bbops production status`: each step's state in the history, restore points, online cutover streams."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bbops.core.report import TextOut
from bbops.errors import UsageError
from bbops.online.status import plan_streams
from bbops.plan.model import Plan
from bbops.production.history import History
from bbops.production.pending import Recorded, plan_run
from bbops.providers.base import Backend
from bbops.providers.select import app_connection


@dataclass
class StatusReport:
    steps: list[dict[str, Any]] = field(default_factory=list)
    restore_points: list[str] = field(default_factory=list)
    streams: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "restore_points": self.restore_points, "streams": self.streams}

    def write_text(self, out: TextOut) -> None:
        out.table(
            ["step", "kind", "state", "finished", "error"],
            [[r["id"], r["kind"], r["state"], r["finished_at"] or "", r["error"] or ""] for r in self.steps],
        )
        for s in self.streams:  # an online cutover's replication objects: each holds resources until dropped
            lag = f", lag {s['lag']}" if s.get("lag") else ""
            out.line(f"stream {s['stream']} (step {s['step']}): {s['phase']}{lag}")
            for o in s["objects"]:
                held = f", {o['retained_bytes']:,} bytes of WAL retained" if o.get("retained_bytes") else ""
                out.line(f"  {o['database']}: {o['kind']} {o['name']}{held}")
        out.line(f"Restore points: {', '.join(self.restore_points) or 'none'}")


def production_status(backend: Backend, plan: Plan) -> StatusReport:
    """Each step: applied, failed, running, pending, or "changed since applied" (read-only, no lock)."""
    if plan.production is None or plan.neon is None:
        raise UsageError(f"{plan.file.name} has no production steps")
    url = app_connection(backend, plan, plan.production.branch).url
    history = History(url)
    attempts = history.latest_attempts() if history.exists() else {}
    report = StatusReport(
        restore_points=[r.name for r in history.restore_points()] if attempts else [],
        streams=plan_streams(plan.production.steps, url),
    )
    planned = plan_run(plan, {k: Recorded(a.status, a.checksum, a.error) for k, a in attempts.items()})
    drifted = {d.step_id for d in planned.drift}
    for step in plan.production.steps:
        a = attempts.get(step.id)
        report.steps.append(
            {
                "id": step.id,
                "kind": step.kind,
                "state": "changed since applied" if step.id in drifted else (a.status if a else "pending"),
                "error": a.error if a else None,
                "finished_at": a.finished_at.isoformat() if a and a.finished_at else None,
            }
        )
    return report
