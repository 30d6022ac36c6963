"""Validation of env sources that take another long-lived branch's connection (`branch:`) or a read
replica's (`endpoint: read_only`): in deployment targets, in previews and in `env` steps."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bbops.cli import main
from bbops.plan import load_plan, validate_file
from tests import REPO_ROOT
from tests.plan_samples import MINIMAL

# MINIMAL with read replicas on main and a third, unprotected long-lived branch `staging` with one too.
BASE = MINIMAL.replace(
    "    main: {default: true, protected: true}\n    development: {parent: main}\n",
    "    main: {default: true, protected: true, read_replicas: {count: 1}}\n"
    "    development: {parent: main}\n"
    "    staging: {parent: main, read_replicas: {count: 2}}\n",
)
PRODUCTION_ENV = "        DATABASE_URL: {connection: pooled, type: sensitive}\n"
PREVIEW_ENV = "        DATABASE_URL: {connection: pooled}\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


def _with_production(*lines: str, base: str = BASE) -> str:
    assert PRODUCTION_ENV in base
    return base.replace(PRODUCTION_ENV, PRODUCTION_ENV + "".join(f"        {line}\n" for line in lines), 1)


def _with_preview(*lines: str) -> str:
    head, tail = BASE.split("    preview:\n", 1)
    assert tail.startswith("      env:\n" + PREVIEW_ENV)
    return (
        head
        + "    preview:\n"
        + tail.replace(PREVIEW_ENV, PREVIEW_ENV + "".join(f"        {line}\n" for line in lines), 1)
    )


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_seed_wiring_builds_the_model(tmp_path):
    text = _with_production(
        "SHADOW_DATABASE_URL: {connection: direct, branch: development, type: encrypted}",
        "DATABASE_READ_URL: {connection: pooled, endpoint: read_only, type: sensitive}",
    )
    assert validate_file(_write(tmp_path, text)) == []
    plan = load_plan(tmp_path / "plan.yaml")
    env = {s.key: s for s in plan.vercel.target("production").env}
    shadow, read, url = env["SHADOW_DATABASE_URL"], env["DATABASE_READ_URL"], env["DATABASE_URL"]
    assert (shadow.branch, shadow.endpoint, shadow.replica) == ("development", "read_write", False)
    assert (read.branch, read.endpoint, read.replica) == (None, "read_only", True)
    assert (url.branch, url.endpoint) == (None, "read_write")
    assert shadow.branch_for("main") == "development" and read.branch_for("main") == "main"


def test_the_shipped_plan_wires_the_shadow_and_read_urls():
    plan = load_plan(REPO_ROOT / "plans" / "bb-prodx.yaml")
    env = {s.key: s for s in plan.vercel.target("production").env}
    assert (env["SHADOW_DATABASE_URL"].connection, env["SHADOW_DATABASE_URL"].branch) == ("direct", "development")
    assert (env["DATABASE_READ_URL"].connection, env["DATABASE_READ_URL"].endpoint) == ("pooled", "read_only")
    cutover = next(s for s in plan.production.steps if s.id == "cutover-env")
    assert cutover.get("env")["DATABASE_READ_URL"] == {
        "connection": "pooled",
        "endpoint": "read_only",
        "type": "sensitive",
    }
    assert "DATABASE_READ_URL" in cutover.get("undo")


@pytest.mark.parametrize(
    ("line", "field", "expect"),
    [
        (
            "SHADOW_DATABASE_URL: {connection: direct, branch: shadow}",
            "vercel.targets.production.env.SHADOW_DATABASE_URL.branch",
            "`shadow` is not a long-lived branch of neon.branches (branches: development, main, staging)",
        ),
        (
            "DEV_READ_URL: {connection: pooled, branch: development, endpoint: read_only}",
            "vercel.targets.production.env.DEV_READ_URL.endpoint",
            "branch `development` has no read replica in the plan",
        ),
        (
            "SHADOW_DATABASE_URL: {value: '${SHADOW}', branch: development}",
            "vercel.targets.production.env.SHADOW_DATABASE_URL.branch",
            "`branch` applies only together with `connection`",
        ),
        (
            "DATABASE_READ_URL: {value: '${READ}', endpoint: read_only}",
            "vercel.targets.production.env.DATABASE_READ_URL.endpoint",
            "`endpoint` applies only together with `connection`",
        ),
        (
            "DATABASE_READ_URL: {connection: pooled, endpoint: replica}",
            "vercel.targets.production.env.DATABASE_READ_URL.endpoint",
            'must be one of: "read_write", "read_only"',
        ),
        (
            "SHADOW_DATABASE_URL: {connection: direct, branch: Not-A-Branch}",
            "vercel.targets.production.env.SHADOW_DATABASE_URL.branch",
            "does not have the expected form",
        ),
    ],
)
def test_bad_sources_in_a_target_name_file_line_and_field(tmp_path, line, field, expect):
    text = _with_production(line)
    path = _write(tmp_path, text)
    problems = validate_file(path)
    assert [p.field for p in problems] == [field], [p.render() for p in problems]
    assert expect in problems[0].message
    assert problems[0].line == _line_of(text, line.split(":")[0] + ":")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"plan.yaml:{problems[0].line}:" in result.output and field in result.output


def test_a_read_replica_source_needs_replicas_counted_in(tmp_path):
    # `count: 0` keeps the key but makes no replica: as good as none.
    base = BASE.replace("read_replicas: {count: 1}", "read_replicas: {count: 0}")
    text = _with_production("DATABASE_READ_URL: {connection: pooled, endpoint: read_only}", base=base)
    problems = [p.render() for p in validate_file(_write(tmp_path, text))]
    assert len(problems) == 1 and "branch `main` has no read replica in the plan" in problems[0], problems
    assert "read_replicas: {count: 1}" in problems[0]  # says how to fix it


def test_a_development_target_takes_replicas_of_another_branch(tmp_path):
    text = BASE.replace(
        "    preview:\n",
        "    development:\n      branch: development\n      env:\n"
        "        DATABASE_URL: {connection: pooled}\n"
        "        DATABASE_READ_URL: {connection: pooled, branch: staging, endpoint: read_only}\n"
        "    preview:\n",
        1,
    )
    assert validate_file(_write(tmp_path, text)) == []


@pytest.mark.parametrize(
    ("line", "expect"),
    [
        # A shared unprotected long-lived branch: every preview gets the same connection of it.
        ("SHADOW_DATABASE_URL: {connection: direct, branch: development}", None),
        ("STAGING_READ_URL: {connection: pooled, branch: staging, endpoint: read_only}", None),
        # The preview's own branch has no replica: refused, with the way out.
        ("DATABASE_READ_URL: {connection: pooled, endpoint: read_only}", "a preview's own branch (made from"),
        # Production's data never reaches a preview deployment.
        ("PROD_URL: {connection: pooled, branch: main}", "`main` is production's branch"),
        ("PROD_READ_URL: {connection: pooled, branch: main, endpoint: read_only}", "`main` is production's branch"),
        ("OTHER_URL: {connection: pooled, branch: nope}", "`nope` is not a long-lived branch"),
    ],
)
def test_sources_of_previews(tmp_path, line, expect):
    text = _with_preview(line)
    problems = validate_file(_write(tmp_path, text))
    if expect is None:
        assert problems == []
        return
    assert len(problems) == 1 and expect in problems[0].message, [p.render() for p in problems]
    assert problems[0].field.startswith("vercel.targets.preview.env.")
    assert problems[0].line == _line_of(text, line.split(":")[0] + ":")


def test_a_protected_branch_is_refused_to_previews_too(tmp_path):
    text = _with_preview("STAGING_URL: {connection: pooled, branch: staging}").replace(
        "staging: {parent: main,", "staging: {parent: main, protected: true,"
    )
    problems = validate_file(_write(tmp_path, text))
    assert len(problems) == 1 and "`staging` is a protected branch" in problems[0].message


STEP = """\
production:
  branch: main
  steps:
    - id: cutover-env
      kind: env
      target: production
      env:
{env}
"""


def _with_step(target_lines: tuple[str, ...], step_lines: tuple[str, ...]) -> str:
    env = "\n".join(f"        {line}" for line in step_lines)
    return _with_production(*target_lines) + STEP.format(env=env)


def test_an_env_step_and_its_target_describe_shared_variables_alike(tmp_path):
    read = "DATABASE_READ_URL: {connection: pooled, endpoint: read_only, type: sensitive}"
    shadow = "SHADOW_DATABASE_URL: {connection: direct, branch: development, type: sensitive}"
    same = _with_step((read, shadow), ("DATABASE_URL: {connection: pooled, type: sensitive}", read, shadow))
    assert validate_file(_write(tmp_path, same)) == []

    # The step reads from main's primary, the target from its replica: drift after every cutover.
    differs = _with_step((read,), ("DATABASE_READ_URL: {connection: pooled, type: sensitive}",))
    problems = validate_file(_write(tmp_path, differs))
    assert [p.field for p in problems] == ["production.steps[0].env.DATABASE_READ_URL"], problems
    assert "differs from vercel.targets.production.env.DATABASE_READ_URL" in problems[0].message
    assert (
        problems[0].line
        == differs.splitlines().index("        DATABASE_READ_URL: {connection: pooled, type: sensitive}") + 1
    )

    # The same branch said two ways (the step's own branch, named) is the same source.
    named = _with_step(
        (read,), ("DATABASE_READ_URL: {connection: pooled, branch: main, endpoint: read_only, type: sensitive}",)
    )
    assert validate_file(_write(tmp_path, named)) == []


def test_an_env_steps_sources_are_checked_like_a_targets(tmp_path):
    text = _with_step((), ("SHADOW_DATABASE_URL: {connection: direct, branch: gone}",))
    problems = [p.render() for p in validate_file(_write(tmp_path, text))]
    assert len(problems) == 1 and "production.steps[0].env.SHADOW_DATABASE_URL.branch" in problems[0], problems
    text = _with_step((), ("DEV_READ_URL: {connection: pooled, branch: development, endpoint: read_only}",))
    problems = [p.render() for p in validate_file(_write(tmp_path, text))]
    assert len(problems) == 1 and "branch `development` has no read replica" in problems[0], problems


def test_only_the_last_env_step_setting_a_variable_must_match_its_target(tmp_path):
    read = "DATABASE_READ_URL: {connection: pooled, endpoint: read_only, type: sensitive}"
    primary = "DATABASE_READ_URL: {connection: pooled, type: sensitive}"
    later = "    - id: reads-to-replica\n      kind: env\n      target: production\n      env:\n        {line}\n"
    # First the primary, a later release moves reads to the replica as the target says: fine.
    text = _with_step((read,), (primary,)) + later.format(line=read)
    assert validate_file(_write(tmp_path, text)) == []
    # The other way round: the last step leaves the variable unlike the target.
    text = _with_step((read,), (read,)) + later.format(line=primary)
    problems = validate_file(_write(tmp_path, text))
    assert [p.field for p in problems] == ["production.steps[1].env.DATABASE_READ_URL"], problems


def test_a_cutover_sets_every_variable_that_connects_to_production(tmp_path):
    """The shipped plan without DATABASE_READ_URL in its cutover: apply would point reads at the empty new database."""
    text = (REPO_ROOT / "plans" / "bb-prodx.yaml").read_text()
    step_line = "        DATABASE_READ_URL: {connection: pooled, endpoint: read_only, type: sensitive}\n"
    undo_line = next(line for line in text.splitlines(keepends=True) if "DATABASE_READ_URL: {value:" in line)
    at = text.index("    - id: cutover-env")
    cut = text[:at] + text[at:].replace(step_line, "", 1).replace(undo_line, "", 1)
    assert cut != text
    path = tmp_path / "bb-prodx.yaml"
    path.write_text(cut)
    (tmp_path / "bb-prodx").symlink_to(REPO_ROOT / "plans" / "bb-prodx")
    problems = validate_file(path)
    assert [(p.field, p.line) for p in problems] == [
        ("vercel.targets.production.env.DATABASE_READ_URL", _line_of(cut, "DATABASE_READ_URL: {connection"))
    ]
    assert "before the cutover (step cutover-env)" in problems[0].message
    assert validate_file(REPO_ROOT / "plans" / "bb-prodx.yaml") == []  # SHADOW_DATABASE_URL (development) is fine
