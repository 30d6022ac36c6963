"""What ``bbops stream status`` and ``bbops production status`` show of a stream and its leftovers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bbops.errors import UsageError
from bbops.online import catalog, follow, stream
from bbops.plan.model import Step, resolve_ref


def stream_status(source_url: str | None, target_url: str, name: str = "copy") -> dict[str, Any]:
    report = follow.status(source_url, target_url, name)
    objects: list[dict[str, object]] = []
    for label, url in (("source", source_url), ("target", target_url)):
        if not url:
            continue
        conn = stream.open_session(url)
        try:
            objects += [{"database": label, **o.as_dict()} for o in catalog.bbops_objects(conn)]
        finally:
            conn.close()
    return {
        "stream": report.stream if report else name,
        "phase": report.phase if report else "absent",
        "lag": report.lag.as_dict() if report and report.lag else None,
        "objects": objects,
    }


def plan_streams(steps: Sequence[Step], new_url: str) -> list[dict[str, Any]]:
    """The status of every stream a plan's `copy` steps with `follow` start, for ``production status``.

    The old database's side (its slot and publication) is shown only when its ``${NAME}`` is set here.
    """
    from bbops.production.steps import stream_of

    out = []
    for step in steps:
        if step.kind != "copy" or not step.get("follow"):
            continue
        try:
            old = resolve_ref(step.get("source"), what=f"step {step.id} source")
        except UsageError:
            old = None
        out.append({"step": step.id, **stream_status(old, new_url, stream_of(step))})
    return out


def end_plan_streams(steps: Sequence[Step], new_url: str, *, now: datetime, dry_run: bool) -> list[str]:
    """End the reverse streams of the plan's `switch` steps whose validation period is over (``preview gc``).

    The old database's ``${NAME}`` must be set: its subscription is dropped there, and dropping only
    the new side would leave it retrying against a slot that is gone.
    """
    from bbops.online.reverse import end_expired

    out: list[str] = []
    for step in steps:
        if step.kind != "switch" or not step.get("reverse"):
            continue
        try:
            old = resolve_ref(step.get("source"), what=f"step {step.id} source")
        except UsageError:
            out.append(f"step {step.id}: {step.get('source')} is not set here: its reverse stream is left running")
            continue
        out += end_expired(old, new_url, now=now, dry_run=dry_run)
    return out
