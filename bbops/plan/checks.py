"""Semantic checks on schema-valid plan data: what JSON Schema cannot say.

Every check returns problems as data (with the YAML position of the field), so
``bbops validate`` can report all of them at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bbops.errors import Problem
from bbops.plan.credentials import find_credentials
from bbops.plan.loader import Loaded, PathKey
from bbops.plan.model import DEFAULT_BRANCH_TEMPLATE, template_pr

AUTOSCALING_MAX_CU = 16


def semantic_problems(loaded: Loaded, base_dir: Path) -> list[Problem]:
    data = loaded.data
    out: list[Problem] = [loaded.problem(path, msg) for path, msg in find_credentials(data)]
    neon = data.get("neon") or {}
    branches: dict[str, Any] = {k: (v or {}) for k, v in (neon.get("branches") or {}).items()}
    out += _branch_problems(loaded, branches)
    out += _autoscaling_problems(loaded, data)
    known = set(branches)

    def need_branch(path: PathKey, name: str | None, what: str) -> None:
        if name and known and name not in known:
            out.append(
                loaded.problem(path, f"{what} `{name}` is not a branch of neon.branches ({', '.join(sorted(known))})")
            )

    production = data.get("production") or {}
    targets: dict[str, Any] = (data.get("vercel") or {}).get("targets") or {}
    for target, spec in targets.items():
        need_branch(("vercel", "targets", target, "branch"), spec.get("branch"), "branch")
        for key, source in (spec.get("env") or {}).items():
            out += _public_connection(loaded, ("vercel", "targets", target, "env", key), key, source)
            out += _source_problems(
                loaded,
                ("vercel", "targets", target, "env", key),
                source,
                own=spec.get("branch"),
                branches=branches,
                preview_of=_preview_parent(data) if target == "preview" else None,
                production_branch=production.get("branch", "main"),
            )
            if source.get("connection") and source.get("type") == "plain":
                out.append(
                    loaded.problem(
                        ("vercel", "targets", target, "env", key, "type"),
                        "a connection string must be `encrypted` or `sensitive`, not `plain`",
                    )
                )

    preview = data.get("preview") or {}
    need_branch(("preview", "parent"), preview.get("parent"), "parent")
    out += _template_problems(loaded, preview.get("branch_name") or DEFAULT_BRANCH_TEMPLATE, sorted(known))
    if preview.get("migrations"):
        out += _migrations_dir(loaded, ("preview", "migrations"), base_dir / preview["migrations"])
    for i, seed in enumerate(preview.get("seed") or []):
        out += _file(loaded, ("preview", "seed", i), base_dir / seed)

    need_branch(("production", "branch"), production.get("branch"), "branch")
    seen: dict[str, int] = {}
    for i, step in enumerate(production.get("steps") or []):
        path = ("production", "steps", i)
        if step["id"] in seen:
            out.append(
                loaded.problem((*path, "id"), f"duplicate step id `{step['id']}` (also step {seen[step['id']] + 1})")
            )
        seen.setdefault(step["id"], i)
        need_branch((*path, "branch"), step.get("branch"), "branch")
        if step["kind"] == "migrations":
            out += _migrations_dir(loaded, (*path, "dir"), base_dir / step["dir"])
        elif step["kind"] == "sql":
            out += _file(loaded, (*path, "file"), base_dir / step["file"])
        elif step["kind"] == "check" and step.get("queries_file"):
            out += _file(loaded, (*path, "queries_file"), base_dir / step["queries_file"])
        elif step["kind"] == "doctor" and step.get("queries"):
            out += _file(loaded, (*path, "queries"), base_dir / step["queries"])
        elif step["kind"] == "env":
            own = step.get("branch") or production.get("branch", "main")
            for key, source in (step.get("env") or {}).items():
                out += _public_connection(loaded, (*path, "env", key), key, source)
                out += _source_problems(
                    loaded,
                    (*path, "env", key),
                    source,
                    own=own,
                    branches=branches,
                    preview_of=_preview_parent(data) if step.get("target") == "preview" else None,
                    production_branch=production.get("branch", "main"),
                )
            for key, source in (step.get("undo") or {}).items():
                out += _public_connection(loaded, (*path, "undo", key), key, source)
            for key in sorted(set(step.get("undo") or {}) - set(step.get("env") or {})):
                out.append(loaded.problem((*path, "undo", key), f"`{key}` is not one of the variables this step sets"))
        elif step["kind"] == "rotate":
            out += _rotate_problems(loaded, path, step, data)
    out += _stream_problems(loaded, production.get("steps") or [])
    out += _steps_match_targets(loaded, production, targets)
    out += _cutover_covers_targets(loaded, production, targets)
    return out


def _rotate_problems(loaded: Loaded, path: PathKey, step: dict[str, Any], data: dict[str, Any]) -> list[Problem]:
    """A rotation updates the env vars of a target that carries the rotated branch's connection strings."""
    targets = (data.get("vercel") or {}).get("targets") or {}
    target = step["target"]
    branch = step.get("branch") or (data.get("production") or {}).get("branch") or "main"
    if target not in targets:
        known = ", ".join(sorted(targets)) or "none"
        return [
            loaded.problem(
                (*path, "target"),
                f"`{target}` is not a target of vercel.targets (targets: {known}): the step updates its env vars",
            )
        ]
    spec = targets[target] or {}
    if spec.get("branch") != branch:
        where = (*path, "branch") if step.get("branch") else (*path, "target")
        carries = f"branch `{spec['branch']}`'s" if spec.get("branch") else "each pull request's own branch's"
        return [
            loaded.problem(
                where,
                f"target `{target}` carries {carries} connection strings, not those of `{branch}` whose password "
                "the step resets",
            )
        ]
    return []


def _stream_problems(loaded: Loaded, steps: list[dict[str, Any]]) -> list[Problem]:
    """A `switch` names the stream of an earlier `copy` with `follow`, from the same source, once."""
    out: list[Problem] = []
    streams: dict[str, dict[str, Any]] = {}
    switched: set[str] = set()
    for i, step in enumerate(steps):
        path = ("production", "steps", i)
        if step["kind"] == "copy" and step.get("follow"):
            streams[step.get("stream") or step["id"].replace("-", "_")] = step
        elif step["kind"] == "copy" and step.get("stream"):
            out.append(loaded.problem((*path, "stream"), "`stream` applies to a copy with `follow: true`"))
        elif step["kind"] == "switch":
            name = step["stream"]
            copy = streams.get(name)
            if copy is None:
                known = ", ".join(sorted(streams)) or "none"
                out.append(
                    loaded.problem(
                        (*path, "stream"),
                        f"no earlier `copy` step with `follow: true` streams `{name}` (streams: {known})",
                    )
                )
            elif copy.get("source") != step.get("source"):
                out.append(loaded.problem((*path, "source"), f"the stream `{name}` copies from {copy.get('source')}"))
            if name in switched:
                out.append(loaded.problem((*path, "stream"), f"the stream `{name}` is switched twice"))
            switched.add(name)
    return out


def _preview_parent(data: dict[str, Any]) -> str:
    """What a preview's own branch is made from (for messages): ``preview.parent``."""
    return str((data.get("preview") or {}).get("parent") or "its parent")


def _source_problems(
    loaded: Loaded,
    path: PathKey,
    source: dict[str, Any],
    *,
    own: str | None,
    branches: dict[str, dict[str, Any]],
    preview_of: str | None,
    production_branch: str,
) -> list[Problem]:
    """A connection source's `branch:` names a long-lived branch, and `endpoint: read_only` a branch with replicas.

    ``own`` is the branch a source without `branch:` takes (None: a preview's own branch;
    ``preview_of`` is then set). A preview may take a shared long-lived branch's connection
    (a shadow database from `development`), never a protected branch's or production's: previews
    run every pull request's code on scrubbed copies, and this would hand them the real data.
    """
    if not source.get("connection"):
        return []
    out: list[Problem] = []
    named = source.get("branch")
    if named is not None:
        if named not in branches:
            known = ", ".join(sorted(branches)) or "none"
            return [
                loaded.problem(
                    (*path, "branch"), f"`{named}` is not a long-lived branch of neon.branches (branches: {known})"
                )
            ]
        if preview_of is not None and (branches[named].get("protected") or named == production_branch):
            why = "production's branch" if named == production_branch else "a protected branch"
            out.append(
                loaded.problem(
                    (*path, "branch"),
                    f"`{named}` is {why}: previews run every pull request's code on scrubbed copies and must not "
                    "get its connection; name a shared unprotected branch (e.g. `development`)",
                )
            )
    if source.get("endpoint") == "read_only":
        branch = named or own
        if branch is None:
            out.append(
                loaded.problem(
                    (*path, "endpoint"),
                    f"a preview's own branch (made from {preview_of}) has no read replica, only its read-write "
                    "compute: leave `endpoint` out (reads then go to the preview's own database), or name a "
                    "long-lived branch with read replicas in `branch`",
                )
            )
        elif branch in branches and not ((branches[branch].get("read_replicas") or {}).get("count") or 0):
            out.append(
                loaded.problem(
                    (*path, "endpoint"),
                    f"branch `{branch}` has no read replica in the plan: give neon.branches.{branch} "
                    "`read_replicas: {count: 1}`, or read from its primary (`endpoint: read_write`)",
                )
            )
    return out


def _resolved(source: dict[str, Any], own: str | None) -> tuple[Any, ...]:
    """What decides a variable's value: its connection (branch, compute, pooling) or its value, and its type."""
    if source.get("connection"):
        where: tuple[Any, ...] = (
            source["connection"],
            source.get("branch") or own,
            source.get("endpoint") or "read_write",
        )
    else:
        where = ("value", source.get("value"))
    return (*where, source.get("type") or "encrypted")


def _steps_match_targets(loaded: Loaded, production: dict[str, Any], targets: dict[str, Any]) -> list[Problem]:
    """The last `env` step that sets a variable of a target describes it as the target's `env` does.

    `bbops apply` leaves a pending step's variables alone and manages them like any other once
    the step has run: a different source would show as drift after the cutover, and the next
    apply would set it back. An earlier step's value is history (a later step replaced it).
    """
    last: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for i, step in enumerate(production.get("steps") or []):
        if step["kind"] == "env" and step.get("target") != "preview":  # a preview's env is each PR's
            for key in step.get("env") or {}:
                last[(str(step.get("target")), key)] = (i, step)
    out = []
    for (target, key), (i, step) in sorted(last.items(), key=lambda item: item[1][0]):
        spec = targets.get(target) or {}
        declared = (spec.get("env") or {}).get(key)
        own = step.get("branch") or production.get("branch", "main")
        if declared is not None and _resolved(step["env"][key], own) != _resolved(declared, spec.get("branch")):
            out.append(
                loaded.problem(
                    ("production", "steps", i, "env", key),
                    f"`{key}` differs from vercel.targets.{target}.env.{key}: once this step has run, `bbops plan` "
                    "would show drift and `bbops apply` would set the target's value back; describe it the same "
                    "way in both",
                )
            )
    return out


def _cutover_covers_targets(loaded: Loaded, production: dict[str, Any], targets: dict[str, Any]) -> list[Problem]:
    """A cutover (an `env` step with `undo:`, moving a target from another database) sets every variable
    of that target that connects to the production branch, its read replica's included.

    A variable the target declares but no step sets is `bbops apply`'s to set, and apply sets it at
    once: before the copy, pointing the app at the new, still empty database.
    """
    branch = production.get("branch", "main")
    steps = production.get("steps") or []
    set_by_steps: dict[str, set[str]] = {}
    cutovers: dict[str, str] = {}  # target -> the first cutover step's id
    for step in steps:
        if step.get("kind") == "env":
            target = str(step.get("target"))
            set_by_steps.setdefault(target, set()).update(step.get("env") or {})
            if step.get("undo"):
                cutovers.setdefault(target, str(step.get("id")))
    out = []
    for target, step_id in cutovers.items():
        spec = targets.get(target) or {}
        for key, source in (spec.get("env") or {}).items():
            if not isinstance(source, dict) or not source.get("connection"):
                continue
            if (source.get("branch") or spec.get("branch")) == branch and key not in set_by_steps[target]:
                out.append(
                    loaded.problem(
                        ("vercel", "targets", target, "env", key),
                        f"`{key}` connects to the production branch {branch} but no `env` step sets it: `bbops "
                        f"apply` would point it at the new database at once, before the cutover (step {step_id}) "
                        "and the copy before it; set it in that step too, with its undo",
                    )
                )
    return out


def _template_problems(loaded: Loaded, template: str, branches: list[str]) -> list[Problem]:
    """A preview template must never name a long-lived branch: create would reuse, scrub and expire it."""
    taken = [name for name in branches if template_pr(template, name) is not None]
    if not taken:
        return []
    name = taken[0]
    return [
        loaded.problem(
            ("preview", "branch_name"),
            f"`{template}` gives PR #{template_pr(template, name)} the name of the plan's branch `{name}`; "
            "choose a template no long-lived branch matches (e.g. `preview/pr-{pr}`)",
        )
    ]


# Next.js inlines NEXT_PUBLIC_* variables into the JavaScript it sends to every browser.
_PUBLIC_PREFIX = "NEXT_PUBLIC_"
_URLISH = ("DATABASE", "POSTGRES", "PG", "DB_URL", "_URL_UNPOOLED")


def _public_connection(loaded: Loaded, path: tuple[Any, ...], key: str, source: dict[str, Any]) -> list[Problem]:
    """A connection string in a NEXT_PUBLIC_* variable would ship to browsers: refuse it."""
    if not key.startswith(_PUBLIC_PREFIX):
        return []
    value = str(source.get("value") or "")
    if source.get("connection") or any(w in value.upper() for w in _URLISH) or value.startswith("postgres"):
        return [
            loaded.problem(
                path,
                f"`{key}` would ship a database connection string to every browser (Next.js inlines "
                f"{_PUBLIC_PREFIX}* variables into client code); use a name without {_PUBLIC_PREFIX}",
            )
        ]
    return []


def _branch_problems(loaded: Loaded, branches: dict[str, dict[str, Any]]) -> list[Problem]:
    out = []
    defaults = [name for name, b in branches.items() if b.get("default")]
    if branches and len(defaults) != 1:
        out.append(
            loaded.problem(("neon", "branches"), f"exactly one branch must be `default: true` (found {len(defaults)})")
        )
    for name, b in branches.items():
        parent = b.get("parent")
        path = ("neon", "branches", name)
        if b.get("default") and parent:
            out.append(loaded.problem((*path, "parent"), "the default branch is the root and has no parent"))
        if not b.get("default") and not parent:
            out.append(loaded.problem(path, "a branch other than the default one needs a `parent`"))
        if parent and parent not in branches:
            out.append(loaded.problem((*path, "parent"), f"parent `{parent}` is not a branch of neon.branches"))
        # Walk up the parents; coming back to ourselves is a cycle.
        seen, cur = {name}, parent
        while cur in branches:
            if cur in seen:
                out.append(loaded.problem((*path, "parent"), f"branch `{name}` is part of a parent cycle"))
                break
            seen.add(cur)
            cur = branches[cur].get("parent")
    return out


def _autoscaling_problems(loaded: Loaded, data: dict[str, Any]) -> list[Problem]:
    out = []
    neon = data.get("neon") or {}
    places: list[tuple[PathKey, Any]] = [
        (("neon", "project", "autoscaling"), (neon.get("project") or {}).get("autoscaling"))
    ]
    for name, b in (neon.get("branches") or {}).items():
        rr = (b or {}).get("read_replicas") or {}
        places.append((("neon", "branches", name, "read_replicas", "autoscaling"), rr.get("autoscaling")))
    compute = (data.get("preview") or {}).get("compute") or {}
    places.append((("preview", "compute", "autoscaling"), compute.get("autoscaling")))
    for path, a in places:
        if not a:
            continue
        lo, hi = a["min_cu"], a["max_cu"]
        if lo > hi:
            out.append(loaded.problem((*path, "min_cu"), f"min_cu {lo} is above max_cu {hi}"))
        elif hi > AUTOSCALING_MAX_CU and lo != hi:
            out.append(
                loaded.problem(
                    (*path, "max_cu"),
                    f"autoscaling goes up to {AUTOSCALING_MAX_CU} CU; above that only fixed sizes (min_cu = max_cu)",
                )
            )
    return out


def _file(loaded: Loaded, path: PathKey, file: Path) -> list[Problem]:
    if not file.is_file():
        return [loaded.problem(path, f"file not found: {_rel(file, loaded)}")]
    return []


def _migrations_dir(loaded: Loaded, path: PathKey, folder: Path) -> list[Problem]:
    if not folder.is_dir():
        return [loaded.problem(path, f"migrations folder not found: {_rel(folder, loaded)}")]
    if not (folder / "meta" / "_journal.json").is_file():
        return [
            loaded.problem(path, f"not a Drizzle migrations folder (no meta/_journal.json): {_rel(folder, loaded)}")
        ]
    return []


def _rel(path: Path, loaded: Loaded) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
