"""Names of the replication objects a stream owns: one stream name, ``bbops_`` plus a direction.

A stream is named by the caller (the step id, or ``copy`` for ``bbops copy --follow``); the name is
reduced to what a replication slot accepts (lower-case letters, digits and underscores, at most 63
bytes), so the slot, the publication and the subscription of one stream share one name and are found
again by it after a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "bbops_"
MARKER_TABLE = "bbops.online_marker"


@dataclass(frozen=True)
class StreamNames:
    """The objects of one direction of one stream (slot, publication and subscription share a name)."""

    stream: str
    direction: str  # "fwd" (old -> new) or "rev" (new -> old)

    @property
    def object(self) -> str:
        return f"{PREFIX}{self.direction}_{self.stream}"


def stream_name(raw: str) -> str:
    """``Cut-over 2!`` -> ``cut_over_2``: a stable, slot-safe stream name."""
    name = re.sub(r"[^a-z0-9_]+", "_", raw.lower()).strip("_") or "copy"
    return name[: 63 - len(PREFIX) - 4]


def forward(stream: str) -> StreamNames:
    return StreamNames(stream_name(stream), "fwd")


def reverse(stream: str) -> StreamNames:
    return StreamNames(stream_name(stream), "rev")
