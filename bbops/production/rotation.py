"""Credential rotation (the ``rotate`` step), and what a rollback must know about rotations since its point.

A rotation resets a role's password on one branch. Before the reset, it finds the
deployment target's env vars that hold that branch's connection strings for the
role (by value, or by the fingerprint bbops stored beside a value it wrote; a
variable bbops cannot tell about is named, never guessed at); only those get
the new strings, so a variable pointing elsewhere (e.g. back at an old database
after a rollback) is left alone. After the reset it proves the new password
connects and the old one is refused.

A rotation cannot be undone: the old password is the leaked one. So the
rotation's undo record (kind ``rotate``) undoes nothing; it tells a rollback:

- env part: a recorded previous value that is this branch's connection string
  with the old password is put back with the current one (``rekeyed``): the
  same connection, a password that opens it;
- deployment part: a deployment built before the rotation holds the old
  password wherever a rotated variable had not been pointed elsewhere by then
  (``stale_keys``); bringing it back would serve an app that cannot connect,
  so production is redeployed instead (with the env vars as the env part left
  them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bbops.core import pg, redact
from bbops.core.poll import poll
from bbops.errors import MigrationError, ProviderError
from bbops.production.history import UndoRecord
from bbops.providers.base import Backend, Connection, EnvVar, stored_value_matches

# Which of a branch's connection strings: (pooled, on the read replica).
Kind = tuple[bool, bool]
DIRECT: Kind = (False, False)


def role_connections(backend: Backend, branch: str, *, database: str, role: str) -> dict[Kind, Connection]:
    """Every connection string of ``role`` on ``branch`` that a password reset changes: its read-write compute's,
    pooled and direct, and its read replica's where the backend has one (the password is the branch's)."""
    out: dict[Kind, Connection] = {}
    for pooled in (True, False):
        out[(pooled, False)] = backend.branches.connection(branch, database=database, role=role, pooled=pooled)
        replica = (
            backend.replicas.replica_connection(branch, database=database, role=role, pooled=pooled)
            if backend.replicas is not None
            else None
        )
        if replica is not None:
            out[(pooled, True)] = replica
    return out


# How long the old password may still connect after Neon's operations finished ("the old password
# remains valid until the last operation finishes", neon-api-v2.yaml resetProjectBranchRolePassword).
REFUSAL_TIMEOUT = 30.0


def holders(
    backend: Backend, target: str, keys: Sequence[str], old: dict[Kind, Connection]
) -> list[tuple[EnvVar, Kind]]:
    """Which of ``keys`` (unscoped variables of ``target``) hold one of the ``old`` connection strings,
    each with the kind it holds.

    Compared by value where the listing has it, else by bbops' fingerprint; a value that neither shows
    is read back by id where the provider allows it (Vercel `encrypted`). A variable that cannot be told
    about (Vercel `sensitive`, not written by bbops) stops the rotation before anything changes: it may
    hold the password that is about to stop working.
    """
    found: list[tuple[EnvVar, Kind]] = []
    unknown: list[str] = []
    for var in backend.env.list_env(target=target):
        if var.git_branch is not None or var.key not in keys:
            continue
        value = var.value
        if value is None and var.fingerprint is None:
            value = backend.env.read_value(var)
            if value is None:
                unknown.append(var.key)
                continue
        kind = next((k for k, c in old.items() if stored_value_matches(value, var.fingerprint, c.url)), None)
        if kind is not None:
            found.append((var, kind))
    if unknown:
        raise MigrationError(
            f"cannot tell whether {target} {', '.join(unknown)} hold(s) the connection string whose password "
            "would be reset (sensitive, and not written by bbops); nothing was changed",
            hint="set the variable with an `env` step (or delete it), then apply again",
        )
    return found


def prove(old_url: str, new_url: str, *, timeout: float = REFUSAL_TIMEOUT) -> str:
    """The new connection string connects and the old one is refused (what the server says), else raise."""
    with pg.connection(new_url, application_name="bbops rotate"):
        pass

    def refused() -> str | None:
        try:
            pg.connect(old_url, connect_timeout=10, application_name="bbops rotate").close()
        except ProviderError as exc:
            said = re.search(r"FATAL:\s*(.+)", exc.message)
            return redact.scrub(said.group(1) if said else exc.message).strip()
        return None

    why = poll(refused, timeout=timeout, delay=1.0, max_delay=5.0)
    if why is None:
        raise MigrationError(f"the old password still connects {timeout:g} s after the reset")
    return why


# -- what a rollback needs -------------------------------------------------------------------


@dataclass(frozen=True)
class Rotated:
    """One rotation recorded since a restore point, with its branch's connection strings as they are now."""

    record: UndoRecord  # kind rotate: target = branch, key = role, env_targets = deployment target
    urls: tuple[str, ...]  # every connection string of the branch and role (``role_connections``)

    @property
    def keys(self) -> list[str]:
        return [k for k in (self.record.detail or "").split(",") if k]

    def holds_old_password(self, value: str) -> str | None:
        """The current connection string ``value`` was before this rotation, or None."""
        return next((url for url in self.urls if url != value and pg.same_but_password(value, url)), None)


def rotations(backend: Backend, database: str, records: Sequence[UndoRecord]) -> list[Rotated]:
    """The rotations among ``records``, each with the current connection strings of its branch and role."""
    out = []
    for r in records:
        if r.kind != "rotate" or not r.key:
            continue
        found = role_connections(backend, r.target, database=database, role=r.key)
        out.append(Rotated(r, tuple(c.url for c in found.values())))
    return out


def rekeyed(value: str, rotated: Sequence[Rotated]) -> str | None:
    """``value`` with the password its role has now, where a rotation since made its own useless; else None."""
    return next((url for r in rotated if (url := r.holds_old_password(value)) is not None), None)


def stale_keys(
    rotated: Sequence[Rotated],
    records: Sequence[UndoRecord],
    deployment: UndoRecord | None,
    value_of: Callable[[UndoRecord], str],
) -> list[str]:
    """The variables whose value in ``deployment`` (the one a rollback would bring back) a rotation made useless.

    ``deployment`` was serving when its redeploy ran, built before the restore point with the env vars of
    then; ``records`` are the undo records since the point, oldest first. For each rotation after it (or
    by the same step: the rotation's own redeploy), a variable held in the deployment what the first env
    change since the point (before the rotation) recorded as its previous value; one with no such change
    held what it held at the rotation: the old connection string, if the rotation updated it.
    """
    if deployment is None:
        return []
    stale = []
    for r in rotated:
        rec = r.record
        after = rec.recorded_at > deployment.recorded_at or rec.step_id == deployment.step_id
        if rec.env_targets != deployment.target or not after:
            continue
        first: dict[str, UndoRecord] = {}
        for e in records:
            if e.kind == "env" and e.key and e.target == deployment.target and e.recorded_at < rec.recorded_at:
                first.setdefault(e.key, e)
        stale += [k for k in r.keys if k not in first or first[k].state == "unreadable"]
        stale += [k for k, e in first.items() if e.state == "present" and r.holds_old_password(value_of(e)) is not None]
    return list(dict.fromkeys(stale))
