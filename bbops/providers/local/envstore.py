"""``LocalEnv``: the ``EnvProvider`` of the embedded backend, a JSON file with Vercel's model.

Each variable has a key, a value, a type (encrypted | sensitive | plain), its
targets (production / preview / development) and optionally the git branch it
is scoped to (preview only, as on Vercel). A variable is identified by its
scope: key + target set + git branch. As on Vercel, one key may not be defined
twice for the same target and git branch with different target sets.

The file (``<home>/env.json``, mode 0600) is rewritten atomically under an
exclusive flock, so concurrent bbops processes never lose each other's writes.
Secret values (by type, or holding a password) are registered with
``bbops.core.redact`` whenever read or written, and no error message ever contains a value.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bbops.core import redact
from bbops.errors import ProviderError, UsageError
from bbops.providers.base import TARGETS, EnvProvider, EnvVar, fingerprint, is_fingerprint
from bbops.providers.local.state import file_lock, read_json, write_json_atomic

FILE = "env.json"
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPES = ("encrypted", "sensitive", "plain")


def check_variable(var: EnvVar) -> EnvVar:
    """``var`` with normalised targets, or a ``UsageError`` naming what is wrong (never its value)."""
    if not isinstance(var.key, str) or not _KEY.match(var.key):
        raise UsageError(f"env var key {var.key!r} must be letters, digits and underscores, not starting with a digit")
    if not isinstance(var.value, str):
        raise UsageError(f"env var {var.key}: the value must be a string")
    if var.type not in _TYPES:
        raise UsageError(f"env var {var.key}: type {var.type!r} is not one of {', '.join(_TYPES)}")
    targets = tuple(sorted(set(var.targets)))
    if not targets or any(t not in TARGETS for t in targets):
        raise UsageError(
            f"env var {var.key}: targets {list(var.targets)} must be a non-empty subset of {list(TARGETS)}"
        )
    if var.git_branch is not None and (not var.git_branch or targets != ("preview",)):
        raise UsageError(f"env var {var.key}: a git branch scope needs exactly the 'preview' target (as on Vercel)")
    return EnvVar(var.key, var.value_to_write(), var.type, targets, var.git_branch, var.id)


def _to_record(var: EnvVar, *, created: str | None = None) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "id": var.id,
        "key": var.key,
        "value": var.value,
        "type": var.type,
        "targets": list(var.targets),
        "git_branch": var.git_branch,
        # As on Vercel (providers/vercel.py): bbops' fingerprint in the comment marks the variable as bbops'.
        "comment": fingerprint(var.value_to_write()),
        "created_at": created or now,
        "updated_at": now,
    }


def _from_record(rec: dict[str, Any]) -> EnvVar:
    value = str(rec.get("value", ""))
    redact.register_env_value(value, str(rec.get("type", "encrypted")))
    return EnvVar(
        key=rec["key"],
        value=value,
        type=rec.get("type", "encrypted"),
        targets=tuple(rec.get("targets") or ()),
        git_branch=rec.get("git_branch"),
        id=rec.get("id"),
        fingerprint=comment if isinstance(comment := rec.get("comment"), str) and is_fingerprint(comment) else None,
        changed_at=datetime.fromisoformat(rec["updated_at"]) if rec.get("updated_at") else None,
    )


class LocalEnv(EnvProvider):
    """Env vars in ``<home>/env.json`` (see the module docstring)."""

    def __init__(self, home: Path) -> None:
        self.path = home / FILE
        self.lock_path = home / (FILE + ".lock")

    def _load(self) -> list[dict[str, Any]]:
        data = read_json(self.path, {"version": 1, "variables": []})
        if not isinstance(data, dict) or not isinstance(data.get("variables"), list):
            raise ProviderError(f"{self.path} does not look like a bbops env store; fix or remove it")
        variables: list[dict[str, Any]] = data["variables"]
        return variables

    def _save(self, records: list[dict[str, Any]]) -> None:
        write_json_atomic(self.path, {"version": 1, "variables": records})

    def list_env(self, *, target: str | None = None, git_branch: str | None = None) -> list[EnvVar]:
        """Variables for ``target`` (if given) scoped to exactly ``git_branch`` (if given)."""
        if target is not None and target not in TARGETS:
            raise UsageError(f"unknown deployment target {target!r}; expected one of {', '.join(TARGETS)}")
        with file_lock(self.lock_path, shared=True):
            records = self._load()
        out = []
        for rec in records:
            var = _from_record(rec)
            if target is not None and target not in var.targets:
                continue
            if git_branch is not None and var.git_branch != git_branch:
                continue
            out.append(var)
        return out

    def read_value(self, var: EnvVar) -> str | None:
        """The stored value of the variable with ``var``'s id (else its scope); None when there is none."""
        with file_lock(self.lock_path, shared=True):
            records = self._load()
        for rec in records:
            found = _from_record(rec)
            if (var.id and found.id == var.id) or (not var.id and found.scope() == var.scope()):
                return found.value
        return None

    def upsert_env(self, variables: Sequence[EnvVar]) -> list[EnvVar]:
        """Create or replace each variable (matched by scope) in one atomic write; all or nothing."""
        checked = [check_variable(v) for v in variables]
        for var in checked:
            redact.register_env_value(var.value, var.type)
        scopes = [v.scope() for v in checked]
        if len(set(scopes)) != len(scopes):
            raise UsageError("the same env var (key, targets, git branch) is given twice in one upsert")
        with file_lock(self.lock_path):
            records = self._load()
            result = []
            for var in checked:
                result.append(self._upsert_one(records, var))
            self._save(records)
        return result

    def _upsert_one(self, records: list[dict[str, Any]], var: EnvVar) -> EnvVar:
        for i, rec in enumerate(records):
            same_branch = rec.get("git_branch") == var.git_branch
            if rec["key"] != var.key or not same_branch:
                continue
            if tuple(sorted(rec["targets"])) == var.targets:
                stored = EnvVar(var.key, var.value, var.type, var.targets, var.git_branch, rec["id"])
                records[i] = _to_record(stored, created=rec.get("created_at"))
                return stored
            if set(rec["targets"]) & set(var.targets):
                branch = f" on git branch {var.git_branch!r}" if var.git_branch else ""
                raise ProviderError(
                    f"env var {var.key} already exists for target(s) {sorted(rec['targets'])}{branch} "
                    f"with another target set; delete it first"
                )
        stored = EnvVar(var.key, var.value, var.type, var.targets, var.git_branch, f"env_local_{uuid.uuid4().hex[:16]}")
        records.append(_to_record(stored))
        return stored

    def delete_env(self, variables: Sequence[EnvVar]) -> int:
        """Delete by id when known, else by scope; already-gone variables are not an error."""
        ids = {v.id for v in variables if v.id}
        scopes = {(v.key, tuple(sorted(v.targets)), v.git_branch) for v in variables if not v.id}
        with file_lock(self.lock_path):
            records = self._load()
            kept = [
                rec
                for rec in records
                if rec.get("id") not in ids
                and (rec["key"], tuple(sorted(rec["targets"])), rec.get("git_branch")) not in scopes
            ]
            removed = len(records) - len(kept)
            if removed:
                self._save(kept)
        return removed

    def count(self) -> int:
        with file_lock(self.lock_path, shared=True):
            return len(self._load())
