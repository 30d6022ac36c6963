"""What ``bbops stream status`` and ``bbops production status`` show of a stream and its leftovers."""

from __future__ import annotations

from typing import Any

from bbops.online import catalog, follow, stream


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
