"""`bbops validate`: schema and semantic problems, positions, exit codes, no echoed secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bbops.cli import main
from bbops.plan import load_plan, validate_file
from tests import REPO_ROOT
from tests.plan_samples import MINIMAL

ROOT = REPO_ROOT


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shipped_plans_are_valid(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert "ok: plans/bb-prodx.yaml" in result.output


def test_minimal_plan_builds_the_model(tmp_path):
    plan = load_plan(write(tmp_path, MINIMAL))
    assert plan.neon.default_branch.name == "main"
    assert [b.name for b in plan.neon.creation_order()] == ["main", "development"]
    assert plan.preview.branch_for(42) == "preview/pr-42"
    assert plan.vercel.target("preview").branch is None


def test_literal_password_in_url_names_file_line_field_and_hides_secret(tmp_path):
    secret = "s3cr3t" + "Pass"
    text = MINIMAL.replace(
        "preview:\n  parent: development\n",
        "production:\n  steps:\n    - id: copy\n      kind: copy\n"
        f"      source: postgresql://neondb_owner:{secret}@ep-old.neon.tech/neondb\n"
        "preview:\n  parent: development\n",
    )
    path = write(tmp_path, text)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert secret not in result.output
    line = text.splitlines().index(next(x for x in text.splitlines() if secret in x)) + 1
    assert f"plan.yaml:{line}:7: production.steps[0].source:" in result.output


@pytest.mark.parametrize(
    ("needle", "replacement", "field", "words"),
    [
        ("api_key: ${NEON_API_KEY}", "api_key: napi_" + "a1" * 20, "neon.api_key", "reference"),
        ("token: ${VERCEL_TOKEN}", "token: hunter2hunter2", "vercel.token", "reference"),
        (
            "DATABASE_URL: {connection: pooled}",
            "DATABASE_URL: {value: npg_" + "Z9" * 8 + "}",
            "DATABASE_URL",
            "Neon password",
        ),
        ("DATABASE_URL: {connection: pooled}", "API_TOKEN: {value: plainvalue}", "API_TOKEN", "literal value"),
    ],
)
def test_literal_credentials_are_refused(tmp_path, needle, replacement, field, words):
    path = write(tmp_path, MINIMAL.replace(needle, replacement))
    problems = validate_file(path)
    assert problems, "a literal credential must be a problem"
    assert any(field in p.field and words in p.message for p in problems), problems
    secret_part = replacement.split(":", 1)[1].strip(" {}").split(": ")[-1]
    assert all(secret_part not in p.render() for p in problems)


@pytest.mark.parametrize(
    ("needle", "replacement", "expect"),
    [
        ("development: {parent: main}", "development: {parent: staging}", "parent `staging` is not a branch"),
        (
            "main: {default: true, protected: true}\n    development: {parent: main}",
            "main: {default: true, protected: true}\n    a: {parent: b}\n    b: {parent: a}",
            "parent cycle",
        ),
        (
            "main: {default: true, protected: true}",
            "main: {protected: true}",
            "exactly one branch must be `default: true`",
        ),
        ("branch: main\n", "branch: staging\n", "branch `staging` is not a branch"),
        ("parent: development\n  ttl", "parent: nowhere\n  ttl", "parent `nowhere` is not a branch"),
        ("ttl_days: 7", "ttl_days: 45", "must be <= 30"),
        ("{min_cu: 0.25, max_cu: 4}", "{min_cu: 0.25, max_cu: 0.3}", "must be one of"),
        ("{min_cu: 0.25, max_cu: 4}", "{min_cu: 8, max_cu: 4}", "min_cu 8 is above max_cu 4"),
        ("{min_cu: 0.25, max_cu: 4}", "{min_cu: 1, max_cu: 20}", "only fixed sizes"),
        ("ttl_days: 7", "ttl_days: 7\n  seed: [missing.sql]", "file not found"),
        ("ttl_days: 7", "ttl_days: 7\n  migrations: nowhere", "migrations folder not found"),
        ("region: aws-eu-central-1", "regoin: aws-eu-central-1", "unknown field `regoin`"),
        ("ttl_days: 7", "ttl_days: seven", "expected number, got string"),
        (
            "{connection: pooled, type: sensitive}",
            "{connection: pooled, type: plain}",
            "must be `encrypted` or `sensitive`",
        ),
    ],
)
def test_semantic_and_schema_problems(tmp_path, needle, replacement, expect):
    assert needle in MINIMAL
    problems = validate_file(write(tmp_path, MINIMAL.replace(needle, replacement, 1)))
    assert any(expect in p.message for p in problems), [p.render() for p in problems]


def test_duplicate_step_ids_and_all_problems_reported_at_once(tmp_path):
    text = MINIMAL + (
        "production:\n  steps:\n"
        "    - {id: one, kind: redeploy, target: production}\n"
        "    - {id: one, kind: redeploy, target: production}\n"
        "    - {id: two, kind: sql, file: nope.sql}\n"
    )
    problems = validate_file(write(tmp_path, text))
    messages = [p.render() for p in problems]
    assert any("duplicate step id `one`" in m for m in messages), messages
    assert any("steps[2].file: file not found" in m for m in messages), messages


def test_json_format_and_github_annotations(tmp_path):
    path = write(tmp_path, MINIMAL.replace("ttl_days: 7", "ttl_days: 99"))
    result = run("validate", "--format", "json", str(path))
    assert result.exit_code == 2
    doc = json.loads(result.output)
    assert doc["valid"] is False
    assert doc["problems"][0]["field"] == "preview.ttl_days"
    assert doc["problems"][0]["line"] == MINIMAL.splitlines().index("  ttl_days: 7") + 1
    result = CliRunner().invoke(main, ["validate", str(path)], env={"GITHUB_ACTIONS": "true"})
    assert "::error file=" in result.output and "line=" in result.output and "preview.ttl_days" in result.output


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (b"", "empty file"),
        (b"\x00\x01\x02binary", "binary data"),
        (b"\xff\xfe\xfa", "not UTF-8"),
        (b"version: 1\nname: [unclosed\n", "YAML syntax"),
        (b"- just\n- a list\n", "a plan is a mapping"),
        (b"version: 1\nname: x\nname: y\n", "duplicate key"),
        (
            b"a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
            b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
            "alias bomb",
        ),
        (b"x: " + b"a" * 10_500_000 + b"\n", "limited to"),
        (b"x: !!python/object/apply:os.system [echo]\n", "constructor"),
        # Nesting: the C parser (used below a bound of the depth) and the Python one both refuse, neither crashes.
        (b"version: 1\nx: " + b"[" * 1_500 + b"]" * 1_500 + b"\n", "nesting depth"),
        (b"version: 1\nx: " + b"[" * 50_000 + b"]" * 50_000 + b"\n", "nesting is too deep"),
    ],
)
def test_hostile_files_give_exit_2_not_tracebacks(tmp_path, content, expect):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert expect in result.output
    assert "Traceback" not in result.output


def test_a_directory_without_plans_and_a_missing_file(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "empty"), str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "is a directory" in result.output and "cannot read" in result.output


def test_shipped_schema_validates_plans_with_a_stock_validator():
    import jsonschema
    import yaml

    schema = json.loads((ROOT / "bbops/schema/plan.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for plan in (ROOT / "plans").glob("*.yaml"):
        jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(plan.read_text()))


def test_every_schema_property_is_described():
    schema = json.loads((ROOT / "bbops/schema/plan.schema.json").read_text())
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    missing.append(f"{path}.{name}")
            for key, sub in node.items():
                if key != "if":  # `if` only selects a branch; the `then` it guards is described
                    walk(sub, f"{path}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{path}[{i}]")

    walk(schema, "")
    assert not missing, missing


def test_a_credential_is_reported_even_when_the_plan_has_schema_errors(tmp_path):
    secret = "npg_" + "Q7" * 8
    text = MINIMAL.replace("region: aws-eu-central-1", "regoin: aws-eu-central-1") + f"description: old url {secret}\n"
    problems = validate_file(write(tmp_path, text))
    messages = [p.render() for p in problems]
    assert any("unknown field `regoin`" in m for m in messages), messages
    assert any(f"plan.yaml:{len(text.splitlines())}:1: description:" in m and "Neon password" in m for m in messages), (
        messages
    )
    assert all(secret not in m for m in messages)


@pytest.mark.parametrize("template", ["release-{pr}", "{pr}", "rel{pr}se-2"])
def test_preview_template_that_names_a_plan_branch_is_refused(tmp_path, template):
    text = MINIMAL.replace("development: {parent: main}", "development: {parent: main}\n    release-2: {parent: main}")
    if template == "{pr}":
        text = text.replace("release-2: {parent: main}", "'42': {parent: main}")
    if template == "rel{pr}se-2":
        text = text.replace("release-2: {parent: main}", "rel7se-2: {parent: main}")
    path = write(
        tmp_path, text.replace("  parent: development\n", f"  parent: development\n  branch_name: '{template}'\n")
    )
    problems = validate_file(path)
    hits = [p for p in problems if p.field == "preview.branch_name"]
    assert hits and "long-lived" in hits[0].message, [p.render() for p in problems]
    assert hits[0].line == path.read_text().splitlines().index(f"  branch_name: '{template}'") + 1


def test_preview_template_that_only_looks_close_to_a_plan_branch_is_fine(tmp_path):
    # `release-02` and `release-` are no name the template gives a PR (numbers have no leading zero).
    text = MINIMAL.replace(
        "development: {parent: main}", "development: {parent: main}\n    release-02: {parent: main}"
    ).replace("  parent: development\n", "  parent: development\n  branch_name: release-{pr}\n")
    assert validate_file(write(tmp_path, text)) == []


def test_yaml_duplicate_keys_are_counted_and_problems_capped(tmp_path):
    # 150 000 duplicate keys in a 750 kB file: each one counts against the budget, and the report stops early.
    path = tmp_path / "dups.yaml"
    path.write_bytes(b"version: 1\n" + b"x: 1\n" * 150_000)
    result = run("validate", str(path))
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert len(lines) <= 105, len(lines)
    assert "duplicate key" in result.output and "stopped after 100 problems" in result.output


def test_problems_of_a_plan_are_capped_with_a_count_of_the_rest(tmp_path):
    text = MINIMAL + "".join(f"unknown_{i}: 1\n" for i in range(300))
    problems = validate_file(write(tmp_path, text))
    assert len(problems) == 101 and problems[-1].message == "and 200 more problem(s) not shown"


def test_pyyaml_is_required_at_a_version_without_the_merge_key_blowup():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "pyyaml>=6.0.4" in deps


def _validate_in_a_child(path: str) -> subprocess.CompletedProcess[str]:
    """`bbops validate PATH` in its own process, with a memory cap and a timeout: a hang or an OOM fails here."""
    import resource

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "bbops", "validate", path],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=cap_memory,
        check=False,
    )


def test_plan_from_dev_zero_is_refused_without_reading_it():
    result = _validate_in_a_child("/dev/zero")
    assert result.returncode == 2 and "not a regular file" in result.stderr, result.stderr[-500:]


def test_plan_that_is_a_named_pipe_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)  # no writer ever opens it: reading would block forever
    result = _validate_in_a_child(str(fifo))
    assert result.returncode == 2 and "not a regular file" in result.stderr, result.stderr[-500:]


def test_plan_symlink_leaving_the_repository_is_refused_and_not_echoed(tmp_path):
    outside = tmp_path / "outside" / "shadow"
    outside.parent.mkdir()
    secret_line = "root:$6$" + "Zx9" * 30 + ":19000:0:99999:7:::"
    outside.write_text(f"{secret_line}: x\nversion: 1\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "plans").mkdir()
    link = repo / "plans" / "plan.yaml"
    link.symlink_to(outside)
    result = run("validate", str(link))
    assert result.exit_code == 2 and "outside the repository" in result.output
    assert "Zx9" not in result.output
    # A link that stays inside the repository is read as usual.
    (repo / "real.yaml").write_text(MINIMAL)
    inside = repo / "plans" / "inside.yaml"
    inside.symlink_to(repo / "real.yaml")
    assert run("validate", str(inside)).exit_code == 0


def test_long_unknown_keys_are_never_printed(tmp_path):
    secret_line = "root:$6$" + "Zx9" * 30 + ":19000"
    key = f"'{secret_line}'"
    for extra, what in ((f"{key}: 1\n", "unknown field"), (f"{key}: 1\n{key}: 2\n", "duplicate key")):
        path = write(tmp_path, MINIMAL + extra)
        result = run("validate", str(path))
        assert result.exit_code == 2 and what in result.output
        assert "Zx9" not in result.output, result.output
        assert f"<a {len(secret_line)}-character key>" in result.output
    assert "short_typo" in run("validate", str(write(tmp_path, MINIMAL + "short_typo: 1\n"))).output
