"""Validation of the `rotate` step: its fields, and that its target carries the rotated branch's strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbops.plan import load_plan, validate_file
from tests.plan_samples import MINIMAL


def _problems(tmp_path: Path, steps: str) -> tuple[str, list[str]]:
    text = MINIMAL + "production:\n  branch: main\n  steps:\n" + steps
    (tmp_path / "plan.yaml").write_text(text)
    return text, [p.render() for p in validate_file(tmp_path / "plan.yaml")]


def _line(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_the_smallest_rotate_step_is_valid_and_takes_the_plan_role_and_production_branch(tmp_path):
    _, problems = _problems(tmp_path, "    - {id: rotate-password, kind: rotate, target: production}\n")
    assert problems == []
    step = load_plan(tmp_path / "plan.yaml").production.steps[0]
    assert step.kind == "rotate" and step.get("role") is None and step.get("branch") is None
    assert step.get("redeploy", True) is True


@pytest.mark.parametrize(
    ("step", "at", "expect"),
    [
        ("      target: staging\n", "target: staging", "production.steps[0].target: must be one of"),
        (
            "      target: production\n      redeploy: sometimes\n",
            "redeploy:",
            "production.steps[0].redeploy: expected boolean",
        ),
        (
            "      target: production\n      role: 'no such role'\n",
            "role: 'no such",
            "production.steps[0].role: does not have the expected form",
        ),
        ("      target: production\n      password: hunter22\n", "password:", "unknown field `password`"),
        ("      branch: main\n", "id: rotate", "missing required field `target`"),
        (
            "      target: production\n      branch: development\n",
            "branch: development",
            "target `production` carries branch `main`'s connection strings, not those of `development`",
        ),
        ("      target: preview\n", "target: preview", "carries each pull request's own branch's connection strings"),
        ("      target: development\n", "target: development", "`development` is not a target of vercel.targets"),
    ],
)
def test_bad_rotate_fields_are_reported_at_their_line(tmp_path, step, at, expect):
    text, problems = _problems(tmp_path, "    - id: rotate\n      kind: rotate\n" + step)
    assert len(problems) == 1, problems
    assert expect in problems[0], problems
    assert f"plan.yaml:{_line(text, at)}:" in problems[0]  # file:line:col: field: message
