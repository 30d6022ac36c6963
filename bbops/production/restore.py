"""Restore points of the production branch: naming, taking, finding, restoring from.

A restore point is named after the commit being applied (``bbops-rp-<sha7>``,
else a UTC timestamp), so a re-run of the same commit after a failure reuses
the point taken before its first change instead of snapshotting the
half-applied state. The backend does the work through ``RestorePoints``
(a template copy locally, a backup branch on Neon); a timestamp restore
(``TimestampRestore``) exists only where the backend keeps history (Neon).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bbops.errors import UsageError
from bbops.providers.base import Backend, Branch, RestorePoints

PREFIX = "bbops-rp-"
_SHA = re.compile(r"^[0-9a-f]{7,40}$")


def point_name(commit: str | None, now: datetime | None = None) -> str:
    if commit and _SHA.match(commit.lower()):
        return PREFIX + commit.lower()[:7]
    now = now or datetime.now(UTC)
    return PREFIX + now.astimezone(UTC).strftime("%Y%m%dt%H%M%S")


def preserve_name(branch: str, now: datetime | None = None) -> str:
    """Where the rolled-back state stays for inspection."""
    now = now or datetime.now(UTC)
    return f"{branch.replace('/', '-')}-before-rollback-{now.astimezone(UTC).strftime('%Y%m%dt%H%M%S')}"


_PRESERVED = re.compile(r"^(?P<branch>.+)-before-rollback-\d{8}t\d{6}$")


def preserved_of(name: str | None) -> str | None:
    """The branch whose rolled-back state ``name`` keeps (``preserve_name``'s inverse), else None.

    Neon's restore with ``preserve_under_name`` moves every child of the restored branch
    to the preserved one (API reference, BranchRestoreRequest): after a rollback of
    ``main``, ``development`` hangs under ``main-before-rollback-...``.
    """
    match = _PRESERVED.match(name or "")
    return match.group("branch") if match else None


def points(backend: Backend) -> RestorePoints:
    if backend.restore_points is None:
        raise UsageError(f"the {backend.name} backend cannot take restore points")
    return backend.restore_points


def take(backend: Backend, branch: str, name: str, *, commit: str | None = None) -> tuple[Branch, bool]:
    """The restore point ``name`` of ``branch``, taken now unless it exists; (point, taken now?)."""
    provider = points(backend)
    existing = provider.get_snapshot(name)
    if existing is not None:
        return existing, False
    annotations = {"bbops": "restore-point", **({"commit": commit} if commit else {})}
    return provider.snapshot(branch, name, annotations=annotations), True


def parse_timestamp(value: str) -> datetime | None:
    """``value`` as an aware datetime if it looks like one (ISO 8601), else None (a point's name)."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # Python 3.11+ reads a trailing Z
    except ValueError as exc:
        raise UsageError(
            f"--to {value!r} looks like a timestamp but is not ISO 8601 (e.g. 2026-11-26T07:00:00Z)"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def restore_data(backend: Backend, branch: str, point: str | datetime, preserve: str) -> None:
    """Put ``branch`` back to restore point ``point`` (a name) or to a moment (a datetime)."""
    if isinstance(point, datetime):
        if backend.timestamp_restore is None:
            raise UsageError(f"the {backend.name} backend cannot restore to a timestamp; use a restore point name")
        backend.timestamp_restore.restore_to_time(branch, point, preserve_under_name=preserve)
        return
    provider = points(backend)
    if provider.get_snapshot(point) is None:
        raise UsageError(f"no restore point named {point!r} on the {backend.name} backend")
    provider.restore(branch, point, preserve_under_name=preserve)
