"""The corpus: one dangerous migration per rule, found on the marked lines, and its safe rewrite, clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbops.review.finding import Severity
from bbops.review.lint import lint_folder
from bbops.review.rules import RULES
from tests.review.helpers import CORPUS, case_folder, expected

RULE_IDS = [r.id for r in RULES]


def test_every_rule_has_a_dangerous_case():
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted(RULE_IDS)


@pytest.mark.parametrize("rule", RULE_IDS)
def test_dangerous_migration_is_found_on_its_lines(rule: str, tmp_path: Path):
    folder, tags = case_folder(tmp_path, rule, "bad")
    report = lint_folder(folder, only=tags)
    found = {(f.migration, f.line, f.rule) for f in report.active}
    want = expected(rule, "bad")
    assert rule in {r for _, _, r in want}
    assert found == want
    for f in report.active:
        assert f.file.endswith(f"{f.migration}.sql") and f.why and f.fix


@pytest.mark.parametrize("rule", [r for r in RULE_IDS if (CORPUS / r / "good.sql").exists()])
def test_safe_rewrite_is_clean(rule: str, tmp_path: Path):
    folder, tags = case_folder(tmp_path, rule, "good")
    report = lint_folder(folder, only=tags)
    assert report.active == [], [f"{f.location} {f.rule}: {f.message}" for f in report.active]
    assert report.migrations == tuple(tags) and report.statements > 0


def test_an_unknown_function_default_is_a_warning_a_volatile_one_an_error(tmp_path: Path):
    folder, tags = case_folder(tmp_path, "adding-field-with-default", "bad")
    by_line = {f.line: f for f in lint_folder(folder, only=tags).active}
    assert by_line[3].severity is Severity.ERROR and "gen_random_uuid" in by_line[3].message
    assert by_line[7].severity is Severity.WARNING and "make_token" in by_line[7].message


def test_drops_and_renames_are_breaking_for_the_running_deployment(tmp_path: Path):
    for rule in ("ban-drop-column", "ban-drop-table", "renaming-column", "renaming-table"):
        folder, tags = case_folder(tmp_path / rule, rule, "bad")
        (finding,) = [f for f in lint_folder(folder, only=tags).active if f.rule == rule]
        assert finding.breaking
        assert "Expand/contract" in finding.fix and "after the deploy" in finding.fix
