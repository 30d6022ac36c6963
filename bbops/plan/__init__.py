"""Plans: load YAML with positions, validate (JSON Schema + semantic checks), build the model.

problems = validate_file(path)          # every problem, as data
plan = load_plan(path)                  # the model, or PlanError with every problem
"""

from __future__ import annotations

from pathlib import Path

from bbops.errors import PlanError, Problem, UsageError
from bbops.plan.checks import semantic_problems
from bbops.plan.credentials import find_credentials
from bbops.plan.loader import MAX_PROBLEMS, dotted, load_file
from bbops.plan.model import Plan, build
from bbops.plan.schema import schema_problems

PLANS_DIR = "plans"
PLAN_SUFFIXES = (".yaml", ".yml")


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (as annotations want)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _check(path: Path) -> tuple[Plan | None, list[Problem]]:
    loaded, problems = load_file(path, display_path(path))
    if loaded is None:
        return None, problems
    if not isinstance(loaded.data, dict):
        return None, [loaded.problem((), "a plan is a mapping with at least `version` and `name`")]
    problems = schema_problems(loaded)
    if problems:
        # Semantic checks assume the schema's shapes; the credential scan does not, and a
        # leaked secret must be reported even when the plan also has a typo.
        flagged = {p.field for p in problems}
        leaks = [loaded.problem(f, m) for f, m in find_credentials(loaded.data) if dotted(f) not in flagged]
        return None, sorted(problems + leaks, key=lambda p: (p.line, p.column, p.message))
    problems = semantic_problems(loaded, path.parent)
    if problems:
        return None, sorted(problems, key=lambda p: (p.line, p.column, p.message))
    return build(loaded.data, path.resolve()), []


def _capped(problems: list[Problem]) -> list[Problem]:
    """The first ``MAX_PROBLEMS`` problems, and a last line saying how many more there were."""
    if len(problems) <= MAX_PROBLEMS + 1:  # the loader's own "stopped after" line may follow its maximum
        return problems
    last = problems[MAX_PROBLEMS - 1]
    more = f"and {len(problems) - MAX_PROBLEMS} more problem(s) not shown"
    return [*problems[:MAX_PROBLEMS], Problem(last.file, last.line, last.column, "", more)]


def validate_file(path: Path) -> list[Problem]:
    return _capped(_check(path)[1])


def load_plan(path: Path) -> Plan:
    plan, problems = _check(path)
    problems = _capped(problems)
    if problems:
        raise PlanError(problems)
    assert plan is not None
    return plan


def plan_files(paths: list[Path] | None = None, root: Path | None = None) -> list[Path]:
    """The given paths (folders expanded to their plan files), or every plan under ``plans/``."""
    if not paths:
        folder = (root or Path.cwd()) / PLANS_DIR
        if not folder.is_dir():
            raise UsageError(f"no plan given and no {PLANS_DIR}/ folder here")
        paths = [folder]
    out: list[Path] = []
    for p in paths:
        found = sorted(f for f in p.iterdir() if f.suffix in PLAN_SUFFIXES and f.is_file()) if p.is_dir() else []
        # A folder without plans stays itself, so that validation says "is a directory".
        out += found or [p]
    return out


def default_plan_path(root: Path | None = None) -> Path:
    """The one plan under ``plans/`` (an error when there are none or several)."""
    files = plan_files(None, root)
    if len(files) != 1:
        names = ", ".join(display_path(f) for f in files) or "none"
        raise UsageError(f"pass --plan: expected exactly one plan under {PLANS_DIR}/, found {names}")
    return files[0]
