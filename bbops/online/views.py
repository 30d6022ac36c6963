"""What ``bbops stream status|end`` and ``bbops copy --abort`` print, as reports (``bbops.core.report``).

The switch, the way back and follow mode's start carry their own ``write_text``; these views wrap the
plain data the other commands get back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bbops.core.report import TextOut


@dataclass(frozen=True)
class StreamStatusView:
    """``stream_status``'s data: the stream's phase and lag, and every ``bbops_*`` object on both sides."""

    data: Mapping[str, Any]

    def as_dict(self) -> Mapping[str, Any]:
        return self.data

    def write_text(self, out: TextOut) -> None:
        data = self.data
        out.line(f"stream {data['stream']}: {data['phase']}")
        if data.get("lag"):
            out.line(f"lag: {data['lag']}")
        out.table(
            ["database", "kind", "name", "active", "WAL retained"],
            [(o["database"], o["kind"], o["name"], o["active"], o["retained_bytes"]) for o in data["objects"]],
        )


@dataclass(frozen=True)
class Dropped:
    """The replication objects a command dropped; ``otherwise`` says why there were none."""

    names: Sequence[str]
    otherwise: str

    def as_dict(self) -> dict[str, Any]:
        return {"dropped": list(self.names)}

    def write_text(self, out: TextOut) -> None:
        out.line("dropped: " + (", ".join(self.names) if self.names else f"nothing ({self.otherwise})"))
