"""The README's quick start stays true: CI runs its test command, and its main job works."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)[:2]


def test_ci_runs_the_readme_test_command():
    _, test_command = quick_start()
    assert "pytest" in test_command and ".[test]" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_the_readme_main_job_runs_a_preview_lifecycle(pg_server_url, tmp_path):
    main_job, _ = quick_start()
    steps = [s.strip() for s in main_job.split("&&")]
    assert steps[0].startswith("python3 -m venv") and "pip install" in steps[1]
    bbops_steps = [shlex.split(s) for s in steps[2:]]
    assert [s[1:3] for s in bbops_steps] == [["preview", "create"], ["preview", "list"]]
    env = {
        **os.environ,
        "BBOPS_HOME": str(tmp_path / "state"),
        "BBOPS_LOCAL_DATABASE_URL": pg_server_url,
        "BBOPS_LOCAL_NAMESPACE": "r" + uuid.uuid4().hex[:6],
    }
    env.pop("GITHUB_ACTIONS", None)
    outputs = []
    for argv in bbops_steps:
        # `.venv/bin/bbops ...` is this interpreter's `python -m bbops ...`.
        run = subprocess.run(
            [sys.executable, "-m", "bbops", *argv[1:]], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    assert "preview preview/pr-1 created" in outputs[0]
    assert "demo/first-pr" in outputs[1]
    # Clean up this namespace's databases through the CLI the README points to.
    run = subprocess.run(
        [sys.executable, "-m", "bbops", "preview", "delete", "--pr", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and "branch deleted" in run.stdout


def test_the_layout_section_is_the_tree():
    from tests.readme_layout import layout_block

    section = (ROOT / "README.md").read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    assert layout_block() in section, "README's Layout is stale: run python -m tests.readme_layout"
