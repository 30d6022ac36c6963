"""bbops.preview.views: what each preview command prints, in every format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bbops.core.report import as_text
from bbops.preview.cleanup import DeleteReport, GcReport
from bbops.preview.lifecycle import PreviewReport
from bbops.preview.views import CreateView, DeleteView, GcView, ListView, ResetView, age, carrier, size
from bbops.providers.base import Branch

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _report(**kw) -> PreviewReport:
    kw.setdefault("created", True)
    return PreviewReport(pr=7, branch="preview/pr-7", parent="development", host="h", database="neondb", **kw)


def test_the_carrier_says_which_deployment_has_the_database_or_why_none_yet():
    assert carrier(_report()) == "-"
    assert carrier(_report(env=["DATABASE_URL"])).startswith("none yet")
    shown = carrier(
        _report(env=["DATABASE_URL"], deployment="dpl_1", deployment_url="x.vercel.app", deployment_state="READY")
    )
    assert shown == "`dpl_1` x.vercel.app (READY)"


def test_create_text_and_markdown_agree():
    r = _report(migrations=["0001_x"], env=["DATABASE_URL"], git_branch="feat/x", deployment="dpl_9")
    text = as_text(CreateView(r))
    assert text.splitlines()[0] == "preview preview/pr-7 created for PR #7 (from development)"
    assert "  env vars:   DATABASE_URL (git branch feat/x)" in text and "`dpl_9`" in text
    md = CreateView(r).markdown()
    assert md.startswith("### Preview for PR #7") and "| migrations | 0001_x |" in md
    refreshed = as_text(CreateView(_report(created=False)))
    assert "refreshed" in refreshed and "(no git branch given: none set)" in refreshed


def test_reset_delete_and_gc_in_one_line_each():
    assert as_text(ResetView(_report())) == (
        "preview preview/pr-7 reset to development; migrations: none pending; scrubbed: nothing"
    )
    deleted = as_text(DeleteView(DeleteReport(7, "preview/pr-7", False, 0, env_kept_for=[8])))
    assert deleted.splitlines() == [
        "preview preview/pr-7: branch already gone; 0 env var(s) deleted",
        "env vars kept: PR #8 previews the same git branch (they now point at its database)",
    ]
    assert as_text(GcView(GcReport())) == "nothing to clean up"
    assert as_text(GcView(GcReport(expired=["preview/pr-1"], dry_run=True))) == "would delete expired: preview/pr-1"


def test_list_shows_age_expiry_and_size_and_its_json_has_timestamps():
    branch = Branch(
        "preview/pr-7",
        "br-1",
        parent="development",
        created_at=NOW - timedelta(hours=5),
        expires_at=NOW + timedelta(days=2),
        annotations={"pr": "7", "git_branch": "feat/x"},
        size_bytes=3 * 1024 * 1024,
    )
    view = ListView([branch], NOW)
    assert as_text(view).splitlines()[1] == "7\tpreview/pr-7\tfeat/x\t5h\t2d\t3 MB"
    assert view.as_dict()[0]["expires_at"] == (NOW + timedelta(days=2)).isoformat()
    assert as_text(ListView([], NOW)) == "no previews"
    assert (age(None, NOW), size(None), size(2048)) == ("-", "-", "2 kB")
