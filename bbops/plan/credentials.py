"""Finding literal credentials in plan data, without ever repeating them.

A plan is committed to git; the plan this project grew from once held a
production connection string with its password. Every string in a plan is
scanned; a finding names the field and the kind of secret, never its value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bbops.plan.model import REF

# scheme://user:password@host -- a password that is not itself a ${NAME} reference.
_URL_WITH_PASSWORD = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:(?!\$\{[A-Z_][A-Z0-9_]*\}@)[^\s@/]+@")
_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Neon API key", re.compile(r"napi_[A-Za-z0-9]{16,}")),
    ("a Neon password", re.compile(r"npg_[A-Za-z0-9]{8,}")),
    ("a Vercel token", re.compile(r"\b(?:vercel_|vc[pk]_)[A-Za-z0-9_-]{16,}")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("an AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("a Stripe secret key", re.compile(r"\b[rs]k_live_[A-Za-z0-9]{16,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)
# Keys whose value is a secret whatever it looks like.
SECRET_KEY = re.compile(
    r"(?i)(^|[_.-])(token|secret|password|passwd|pwd|api[_-]?key|apikey|credentials?|private[_-]?key|auth)([_.-]|$)"
)

PathKey = tuple[str | int, ...]


def walk_strings(data: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk_strings(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from walk_strings(value, (*path, i))
    elif isinstance(data, str):
        yield path, data


def credential_kind(value: str) -> str | None:
    """What kind of literal credential ``value`` holds, or None."""
    if _URL_WITH_PASSWORD.search(value):
        return "a connection URL with a literal password"
    for kind, pattern in _TOKENS:
        if pattern.search(value):
            return kind
    return None


def _names_secret(path: PathKey) -> bool:
    # The env var name is the key above `value:` in a `vercel.targets.*.env.NAME.value` path.
    names = [p for p in path if isinstance(p, str)]
    last = names[-1] if names else ""
    owner = names[-2] if last == "value" and len(names) >= 2 else last
    return bool(SECRET_KEY.search(owner))


def find_credentials(data: Any) -> Iterator[tuple[PathKey, str]]:
    """``(path, message)`` for every literal credential in plan data."""
    for path, value in walk_strings(data):
        kind = credential_kind(value)
        if kind:
            yield path, f"holds {kind}; use a ${{NAME}} reference and keep the secret in the environment"
        elif _names_secret(path) and value.strip() and not REF.match(value.strip()):
            yield path, "names a secret but holds a literal value; use a ${NAME} reference"
