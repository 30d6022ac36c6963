"""Version, extension and setting parity with another database (``--compare URL``), for a cutover.

This database is the new one; the other is the one the app runs on today. An
extension the app has there and not here is an error: the first query that
needs it fails after the cutover.
"""

from __future__ import annotations

from typing import Any

from bbops.doctor.context import Context
from bbops.doctor.finding import Finding, Severity
from bbops.doctor.session import read_only_session
from bbops.doctor.sqltext import ident

# Settings that change what the same SQL returns or how it sorts.
SETTINGS = ("server_encoding", "lc_collate", "lc_ctype", "TimeZone", "DateStyle", "default_text_search_config")


def _facts(conn: Any) -> dict[str, Any]:
    ext = {r[0]: r[1] for r in conn.execute("SELECT extname, extversion FROM pg_extension").fetchall()}
    settings = {}
    for name in SETTINGS:
        if name in ("lc_collate", "lc_ctype"):  # per database since Postgres 16
            col = "datcollate" if name == "lc_collate" else "datctype"
            value = conn.execute(f"SELECT {col} FROM pg_database WHERE datname = current_database()").fetchone()[0]
        else:
            value = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]
        settings[name] = value
    return {"version": conn.info.server_version, "extensions": ext, "settings": settings}


def _release(num: int) -> str:
    return f"{num // 10000}.{num % 10000}"


def parity(ctx: Context) -> list[Finding]:
    if not ctx.compare_url:
        return []
    here = _facts(ctx.conn)
    with read_only_session(ctx.compare_url) as other_conn:
        there = _facts(other_conn)
    out = []
    if here["version"] != there["version"]:
        major = here["version"] // 10000 != there["version"] // 10000
        out.append(
            Finding(
                "parity.server_version",
                Severity.WARNING if major else Severity.INFO,
                f"Postgres {_release(here['version'])} here, {_release(there['version'])} on the other database"
                + (
                    ": a major upgrade changes planner behaviour and some defaults; test the app's queries"
                    if major
                    else ""
                ),
                ("server_version",),
                {"here": here["version"], "other": there["version"]},
            )
        )
    for name, version in sorted(there["extensions"].items()):
        mine = here["extensions"].get(name)
        if mine is None:
            out.append(
                Finding(
                    "parity.extension_missing",
                    Severity.ERROR,
                    f"extension {name} {version} is installed on the other database but not here",
                    (f"extension:{name}",),
                    {"other": version},
                    f"CREATE EXTENSION IF NOT EXISTS {ident(name)};",
                )
            )
        elif mine != version:
            out.append(
                Finding(
                    "parity.extension_version",
                    Severity.INFO,
                    f"extension {name} is {mine} here and {version} on the other database",
                    (f"extension:{name}",),
                    {"here": mine, "other": version},
                )
            )
    for name in sorted(set(here["extensions"]) - set(there["extensions"])):
        out.append(
            Finding(
                "parity.extension_extra",
                Severity.INFO,
                f"extension {name} is installed here but not on the other database",
                (f"extension:{name}",),
                {"here": here["extensions"][name]},
            )
        )
    for name in SETTINGS:
        if here["settings"][name] != there["settings"][name]:
            out.append(
                Finding(
                    "parity.setting",
                    Severity.WARNING,
                    f"{name} is {here['settings'][name]!r} here and {there['settings'][name]!r} on the other database",
                    (f"setting:{name}",),
                    {"here": here["settings"][name], "other": there["settings"][name]},
                )
            )
    return out
