"""The workflows and composite actions: static checkers plus the rules they must keep.

check-jsonschema (GitHub's vendored schemas), actionlint (with shellcheck for
``run:`` scripts) and zizmor run over every file, offline, so CI enforces them.
The rest reads the YAML and checks what the checkers don't know about:
pinning, permissions, inputs only through ``env:``, no secret as an output,
and the triggers and concurrency each workflow promises.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import REPO_ROOT

ROOT = REPO_ROOT
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / "actions").glob("*/action.yml"))
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
EXPECTED_ACTIONS = {
    "validate",
    "lint",
    "plan",
    "apply",
    "preview-create",
    "preview-delete",
    "preview-gc",
    "migrate",
    "verify",
    "rollback",
    "comment",
}
EXPECTED_WORKFLOWS = {"ci", "preview", "plan", "apply", "rollback", "gc"}


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    env.pop("GH_TOKEN", None)
    env.pop("GITHUB_TOKEN", None)
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads a bare `on` key as the boolean True.
    return workflow.get("on", workflow.get(True))


def test_every_action_and_workflow_exists():
    assert {p.parent.name for p in ACTIONS} >= EXPECTED_ACTIONS
    assert {p.stem for p in WORKFLOWS} >= EXPECTED_WORKFLOWS


# -- the three checkers --------------------------------------------------------------------------


def test_check_jsonschema_workflows():
    result = _run(_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_jsonschema_actions():
    result = _run(_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", *map(str, ACTIONS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint():
    _tool("shellcheck")  # actionlint runs it over every run: script when it is on PATH
    result = _run(_tool("actionlint"), "-no-color", *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_offline():
    result = _run(_tool("zizmor"), "--offline", "--no-progress", ".github/workflows", "actions")
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_action_scripts(tmp_path):
    # actionlint checks the run: scripts of workflows only; the actions' scripts are checked here.
    for path in ACTIONS:
        for i, step in enumerate(load(path)["runs"]["steps"]):
            if "run" in step:
                script = tmp_path / f"{path.parent.name}-{i}.sh"
                script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + step["run"])
                result = _run(_tool("shellcheck"), "--severity=style", str(script))
                assert result.returncode == 0, f"{path}: step {i}\n{result.stdout}"


# -- composite actions ---------------------------------------------------------------------------


@pytest.fixture(params=ACTIONS, ids=lambda p: p.parent.name)
def action(request) -> tuple[Path, dict]:
    return request.param, load(request.param)


def test_action_is_composite_and_installs_bbops_from_its_checkout(action):
    path, data = action
    steps = data["runs"]["steps"]
    assert data["runs"]["using"] == "composite"
    setup = [s for s in steps if "uses" in s]
    assert len(setup) == 1 and setup[0]["uses"].startswith("actions/setup-python@")
    assert PINNED.match(setup[0]["uses"]), setup[0]["uses"]
    assert setup[0]["with"]["cache"] == "pip"
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert '"$GITHUB_ACTION_PATH/../.."' in install["run"]
    # exactly one step runs bbops, and it is the last one
    runs_bbops = [s for s in steps if re.search(r"^\s*bbops ", s.get("run", ""), re.M)]
    assert runs_bbops == [steps[-1]]
    text = path.read_text()
    assert re.search(r"setup-python@[0-9a-f]{40} # v5\.\d+\.\d+", text), "pin comment names the tag"


def test_action_inputs_reach_scripts_only_through_env(action):
    path, data = action
    for step in data["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), f"{path}: expression inside run:"
    env_values = " ".join(str(v) for s in data["runs"]["steps"] for v in (s.get("env") or {}).values())
    withs = " ".join(str(v) for s in data["runs"]["steps"] for v in (s.get("with") or {}).values())
    workdir = " ".join(str(s.get("working-directory", "")) for s in data["runs"]["steps"])
    for name in data.get("inputs", {}):
        assert f"inputs.{name} " in f"{env_values} {withs} {workdir} ".replace("}}", " "), (
            f"{path}: input {name} is never used"
        )


def test_action_inputs_and_outputs_are_documented_and_never_secret(action):
    path, data = action
    for name, spec in {**data.get("inputs", {}), **data.get("outputs", {})}.items():
        assert spec.get("description"), f"{path}: {name} has no description"
    for name, spec in data.get("outputs", {}).items():
        assert not re.search(r"(database|db|connection)[-_]?(url|uri|string)|password|token|secret", name, re.I), (
            f"{path}: output {name}"
        )
        assert "value" in spec


# -- workflows -----------------------------------------------------------------------------------


@pytest.fixture(params=WORKFLOWS, ids=lambda p: p.stem)
def workflow(request) -> tuple[Path, dict]:
    return request.param, load(request.param)


def _steps(data: dict):
    for job in data["jobs"].values():
        yield from job.get("steps", [])


def test_least_privilege(workflow):
    path, data = workflow
    assert data["permissions"] == {}, f"{path}: top-level permissions must be {{}}"
    for name, job in data["jobs"].items():
        assert "permissions" in job, f"{path}: job {name} must state its permissions"
        assert "write-all" not in str(job["permissions"]) and "read-all" not in str(job["permissions"])


def test_third_party_actions_pinned_to_commit_shas(workflow):
    path, data = workflow
    text = path.read_text()
    for step in _steps(data):
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert PINNED.match(uses), f"{path}: {uses} is not pinned to a full commit SHA"
            assert re.search(re.escape(uses) + r" # v\d+\.\d+\.\d+", text), f"{path}: {uses} lacks its tag comment"
        if uses and uses.startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_no_expressions_inside_run(workflow):
    path, data = workflow
    for step in _steps(data):
        assert "${{" not in step.get("run", ""), f"{path}: {step.get('name')}: expression inside run:"


def test_secrets_only_reach_steps_that_need_them(workflow):
    path, data = workflow
    assert "secrets" not in str(data.get("env", {})), f"{path}: secrets in workflow-level env reach every step"
    for job in data["jobs"].values():
        assert "secrets" not in str(job.get("env", {}))


def test_preview_workflow():
    data = load(ROOT / ".github/workflows/preview.yml")
    assert triggers(data)["pull_request"]["types"] == ["opened", "reopened", "synchronize", "closed"]
    concurrency = data["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] == "${{ github.event.action != 'closed' }}"
    jobs = data["jobs"]
    assert "!=" in jobs["fork"]["if"] and "::notice" in jobs["fork"]["steps"][0]["run"]
    # Dependabot's runs get no secrets either: skipped with the same explanation as forks.
    assert "github.event.pull_request.user.login == 'dependabot[bot]'" in jobs["fork"]["if"]
    for name in ("create", "delete"):
        assert "head.repo.full_name == github.repository" in jobs[name]["if"]
        assert "github.event.pull_request.user.login != 'dependabot[bot]'" in jobs[name]["if"]
        assert jobs[name]["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert [s["uses"].split("@")[0] for s in jobs["create"]["steps"][1:]] == [
        "actions/checkout",  # the base branch's plans: the preview policy
        "./actions/preview-create",
        "./actions/comment",
    ]
    # refs/pull/N/merge may be gone once a conflicting PR closes: the delete checks out the base commit.
    assert jobs["delete"]["steps"][0]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert [s["uses"] for s in jobs["delete"]["steps"][1:]] == ["./actions/preview-delete", "./actions/comment"]


def test_plan_workflow():
    data = load(ROOT / ".github/workflows/plan.yml")
    assert triggers(data)["pull_request"]["paths"] == ["plans/**"]
    uses = [s.get("uses") for s in _steps(data)]
    assert "./actions/validate" in uses and "./actions/plan" in uses and "./actions/comment" in uses
    # Lint needs no secret and no write permission, so it runs for fork PRs too.
    lint = data["jobs"]["lint"]
    assert lint["permissions"] == {"contents": "read"} and "if" not in lint
    assert [s.get("uses") for s in lint["steps"]][1:] == ["./actions/lint"]


def test_apply_and_rollback_never_share_a_concurrency_group():
    # GitHub keeps one pending run per group and cancels the older pending one: a rollback
    # queued behind an apply would be dropped. The production lock serialises them instead.
    apply_, rollback = (load(ROOT / f".github/workflows/{n}.yml") for n in ("apply", "rollback"))
    assert triggers(apply_)["push"] == {"branches": ["main"], "paths": ["plans/**"]}
    assert apply_["concurrency"] == {"group": "bbops-apply", "cancel-in-progress": False}
    assert rollback["concurrency"] == {"group": "bbops-rollback-${{ github.run_id }}", "cancel-in-progress": False}
    for data in (apply_, rollback):
        (job,) = data["jobs"].values()
        assert job["environment"] == "production"


def test_rollback_inputs():
    inputs = triggers(load(ROOT / ".github/workflows/rollback.yml"))["workflow_dispatch"]["inputs"]
    assert inputs["what"]["type"] == "choice" and set(inputs["what"]["options"]) == {"all", "data", "env", "deployment"}
    assert inputs["to"]["type"] == "string" and inputs["to"]["required"] is True
    assert inputs["dry-run"] == {**inputs["dry-run"], "type": "boolean", "default": True}
    assert inputs["confirm"]["type"] == "string"


def test_rollback_passes_yes_only_after_the_typed_confirmation(tmp_path):
    """The action adds --yes only when told; the workflow tells it only for the exact confirmation string."""
    workflow = load(ROOT / ".github/workflows/rollback.yml")
    (step,) = [s for s in _steps(workflow) if s.get("uses") == "./actions/rollback"]
    assert step["with"]["confirmed"] == "${{ inputs.confirm == 'rollback production' }}"
    script = load(ROOT / "actions/rollback/action.yml")["runs"]["steps"][-1]["run"]
    # Run the action's script with a `bbops` that prints the arguments it was given.
    (tmp_path / "bbops").write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    (tmp_path / "bbops").chmod(0o755)
    for confirmed, dry_run, yes in (("false", "false", False), ("true", "false", True), ("false", "true", False)):
        env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "TO": "latest", "DRY_RUN": dry_run, "CONFIRMED": confirmed}
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=env, capture_output=True, text=True)
        args = done.stdout.split()
        assert done.returncode == 0 and args[:3] == ["rollback", "--to", "latest"]
        assert ("--yes" in args) is yes and ("--dry-run" in args) is (dry_run == "true")


def test_gc_workflow():
    data = load(ROOT / ".github/workflows/gc.yml")
    assert "schedule" in triggers(data)
    uses = [s.get("uses") for s in _steps(data)]
    assert "./actions/preview-gc" in uses and "./actions/plan" in uses
    drift = next(s for s in _steps(data) if s.get("uses") == "./actions/plan")
    assert drift["with"]["fail-on-changes"] == "true"


def test_ci_runs_the_suite_and_the_checkers():
    text = (ROOT / ".github/workflows/ci.yml").read_text()
    for needle in (
        "bash .ci/run",
        "vendor.github-workflows",
        "vendor.github-actions",
        "actionlint",
        "zizmor --offline",
    ):
        assert needle in text


def test_ci_lints_and_type_checks_with_the_venv_tools():
    workflow = (ROOT / ".github/workflows/ci.yml").read_text()
    run, lint = (ROOT / ".ci" / "run").read_text(), (ROOT / ".ci" / "lint").read_text()
    # Both CI paths run the one lint script: the lint job on its own, .ci/run after the tests.
    assert "bash .ci/lint" in workflow and run.rstrip().endswith("bash .ci/lint")
    assert "set -euo pipefail" in lint  # any finding fails the run
    for needle in (
        '"$bin/ruff" check bbops tests bench',
        '"$bin/ruff" format --check bbops tests bench',
        '"$bin/mypy" bbops',
    ):
        assert needle in lint
    result = _run(_tool("shellcheck"), "--severity=style", str(ROOT / ".ci" / "run"), str(ROOT / ".ci" / "lint"))
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("name", ["apply", "rollback"])
@pytest.mark.parametrize("value", ["", "Cloud", "loca"])
def test_item16_production_workflows_fail_without_bbops_backend(name, value):
    data = load(ROOT / f".github/workflows/{name}.yml")
    (job,) = data["jobs"].values()
    assert job["env"]["BBOPS_BACKEND"] == "${{ vars.BBOPS_BACKEND }}", "no fallback to the local backend"
    guard = next(s for s in job["steps"] if s.get("env", {}).get("BACKEND") == "${{ vars.BBOPS_BACKEND }}")
    # The guard runs before the checkout and anything that could touch production.
    assert job["steps"].index(guard) < next(i for i, s in enumerate(job["steps"]) if "actions/" in s.get("uses", ""))

    def run(v: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-eo", "pipefail", "-c", guard["run"]], env={"BACKEND": v}, capture_output=True, text=True
        )

    failed = run(value)
    assert failed.returncode != 0 and "::error title=BBOPS_BACKEND is not set::" in failed.stdout
    assert run("cloud").returncode == 0 and run("local").returncode == 0


@pytest.mark.parametrize("name", ["apply", "rollback"])
def test_item16_production_actions_pass_the_backend_explicitly(name, tmp_path):
    spec = load(ROOT / "actions" / name / "action.yml")
    step = spec["runs"]["steps"][-1]
    assert '--backend "$BBOPS_BACKEND"' in step["run"]
    # An empty backend is refused by the CLI (exit 2), where an unset BBOPS_BACKEND would mean `local`.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "BBOPS_BACKEND": "", "TO": "latest"}
    result = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2 and "--backend" in result.stderr


# -- issue 12 item 9: whose policy, which secrets, what gets installed --------------------------


def test_item9_preview_policy_is_read_from_the_base_commit():
    jobs = load(ROOT / ".github/workflows/preview.yml")["jobs"]
    steps = jobs["create"]["steps"]
    base = next(s for s in steps if s.get("with", {}).get("ref") == "${{ github.event.pull_request.base.sha }}")
    assert base["uses"].startswith("actions/checkout@") and base["with"]["persist-credentials"] is False
    create = next(s for s in steps if s.get("uses") == "./actions/preview-create")
    assert steps.index(base) < steps.index(create)
    assert create["with"]["policy-from"].startswith(base["with"]["path"] + "/plans/")
    assert "--policy-from" in load(ROOT / "actions/preview-create/action.yml")["runs"]["steps"][-1]["run"]
    # Preview jobs see the preview environment's secrets; production's live in `production` (main only).
    assert jobs["create"]["environment"] == jobs["delete"]["environment"] == "preview"


def test_item9_action_installs_hash_pinned_and_sees_no_secrets(action, tmp_path):
    path, data = action
    install = next(s for s in data["runs"]["steps"] if "pip install" in s.get("run", ""))
    assert "env" not in install, f"{path}: the install step must not be given env"
    script = install["run"]
    assert '--require-hashes -r "$GITHUB_ACTION_PATH/../requirements.txt"' in script
    assert "--no-deps" in script and "env -i" in script
    # Run it with a stand-in python that records what it sees, under a caller step's secrets.
    record = tmp_path / "seen"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "python").write_text(f'#!/bin/sh\n{{ echo "ARGS $*"; env; }} >> "{record}"\n')
    (fake_bin / "python").chmod(0o755)
    secret = "napi_" + "s" * 30
    env = {
        "PATH": f"{fake_bin}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GITHUB_ACTION_PATH": str(path.parent),
        "NEON_API_KEY": secret,
        "VERCEL_TOKEN": secret,
        "BBOPS_STATE_KEY": secret,
    }
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    seen = record.read_text()
    assert seen.count("ARGS -m pip install") == 2 and "--require-hashes" in seen
    assert secret not in seen and "NEON_API_KEY" not in seen


def test_item9_requirements_pin_every_runtime_dependency_by_hash():
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    text = (ROOT / "actions" / "requirements.txt").read_text()
    pinned: dict[str, str] = {}
    for block in re.split(r"\n(?=[A-Za-z])", text):
        head = block.strip().splitlines()[0] if block.strip() else ""
        if not head or head.startswith("#"):
            continue
        m = re.match(r"^([A-Za-z0-9._-]+)==([^\s\\]+)", head)
        assert m, f"not pinned with ==: {head}"
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), f"{m.group(1)} has no hash"
        pinned[canonicalize_name(m.group(1))] = m.group(2)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [Requirement(r) for r in project["project"]["dependencies"]]
    wanted += [Requirement(r) for r in project["build-system"]["requires"]]
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} is not in actions/requirements.txt: regenerate it (see its header)"
        assert req.specifier.contains(pinned[name], prereleases=True), f"{req.name}=={pinned[name]} breaks {req}"
