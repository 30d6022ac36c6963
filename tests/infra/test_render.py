"""bbops.infra.render: the plan's actions for people (text), PR comments (markdown) and machines (json)."""

from __future__ import annotations

from bbops.core.report import as_text
from bbops.infra.diff import Action, Change
from bbops.infra.render import InfraPlan, as_dict, markdown, summary, text

ACTIONS = [
    Action("create", "branch", "neon.branch.development", (Change("parent", None, "main"),)),
    Action("update", "env", "vercel.env.production.FLAG", (Change("value", "a|b", "c"),)),
    Action("no-op", "branch", "neon.branch.main"),
    Action("delete", "env", "vercel.env.preview.OLD", blocked="not written by bbops"),
]


def test_summary_counts_every_op():
    assert summary(ACTIONS) == {"create": 1, "update": 1, "delete": 1, "no-op": 1}


def test_text_shows_pending_actions_their_changes_and_why_one_is_blocked():
    lines = text(ACTIONS).splitlines()
    assert lines[:2] == ["+ create neon.branch.development", "    parent: (none) -> main"]
    assert "neon.branch.main" not in text(ACTIONS) and "neon.branch.main" in text(ACTIONS, show_noop=True)
    assert "    ! cannot apply: not written by bbops" in lines
    assert lines[-1] == "Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged."


def test_markdown_escapes_pipes_and_says_when_nothing_changes():
    md = markdown(ACTIONS)
    assert "| ~ | `vercel.env.production.FLAG` | value | a\\|b | c |" in md
    assert "| ! | `vercel.env.preview.OLD` | cannot apply |" in md
    assert markdown([ACTIONS[2]]).endswith("No changes: the infrastructure matches the plan.")


def test_the_plan_report_is_the_same_in_each_format():
    plan = InfraPlan(ACTIONS)
    assert [a.address for a in plan.pending] == [
        "neon.branch.development",
        "vercel.env.production.FLAG",
        "vercel.env.preview.OLD",
    ]
    assert plan.as_dict() == as_dict(ACTIONS) and plan.as_dict()["summary"]["no-op"] == 1
    assert as_text(plan) == text(ACTIONS) and plan.markdown() == markdown(ACTIONS)
