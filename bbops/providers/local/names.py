"""Branch names and the database names they map to on the local server (pure).

A branch name is what the plan and the Neon API use (``main``,
``preview/pr-42``); Postgres database names are limited to 63 bytes and
awkward with ``/`` in URLs. So each branch gets a deterministic database name:
``bb_`` (``bbn_<namespace>_`` in a namespace) + the name lower-cased with every other character turned into ``_``,
plus a short hash of the exact name whenever that transformation lost
information (so ``Main`` and ``main`` or ``a/b`` and ``a_b`` never collide).
The result is still always quoted with ``psycopg.sql.Identifier`` when used.
"""

from __future__ import annotations

import hashlib
import re

from bbops.errors import UsageError

MAX_NAME = 63
MAX_IDENT = 63  # NAMEDATALEN - 1; all characters below are ASCII, so bytes == characters
PREFIX = "bb_"
NAMESPACED_PREFIX = "bbn_"
CATALOG_DATABASE = "bbops_catalog"

# Anything printable, no leading whitespace; trailing whitespace is checked separately.
_NAME = re.compile(r"^[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$")
_NAMESPACE = re.compile(r"^[a-z0-9]{1,16}$")
_SAFE = re.compile(r"^[a-z0-9_]+$")


def validate_name(name: object, *, what: str = "branch name") -> str:
    """``name`` if it is a usable branch name, else a ``UsageError`` saying why."""
    if not isinstance(name, str) or not name:
        raise UsageError(f"{what} must be a non-empty string")
    if len(name) > MAX_NAME:
        raise UsageError(f"{what} {name[:20]!r}... is {len(name)} characters long; at most {MAX_NAME} are allowed")
    if not _NAME.match(name) or name != name.rstrip():
        raise UsageError(f"{what} {name!r} is not allowed: no control characters and no leading or trailing whitespace")
    return name


def validate_namespace(namespace: str | None) -> str:
    """'' (the default namespace) or a short lower-case tag that keeps test runs apart."""
    if not namespace:
        return ""
    if not _NAMESPACE.match(namespace):
        raise UsageError(f"local namespace {namespace!r} must be 1-16 lower-case letters or digits")
    return namespace


def short_hash(name: str, length: int = 8) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:length]


def database_name(name: str, namespace: str = "") -> str:
    """The database that holds branch ``name``: deterministic, <= 63 bytes, distinct per name."""
    validate_name(name)
    # A namespace gets its own prefix: `bb_t1_main` is branch `t1_main`, never namespace t1's `main`.
    prefix = f"{NAMESPACED_PREFIX}{namespace}_" if namespace else PREFIX
    sanitized = re.sub(r"[^a-z0-9_]", "_", name.lower())
    if sanitized == name and _SAFE.match(name) and len(prefix) + len(name) <= MAX_IDENT:
        return prefix + name
    suffix = "_" + short_hash(name)
    room = MAX_IDENT - len(prefix) - len(suffix)
    return prefix + sanitized[:room] + suffix
