"""``preview create`` measures the PR's migrations on the preview and the comment shows the review."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from bbops import preview
from bbops.github.comment import PreviewComment, render_preview
from bbops.plan import load_plan
from bbops.providers.local import open_local_backend
from tests import REPO_ROOT

PLAN = REPO_ROOT / "plans" / "bb-prodx.yaml"


@pytest.fixture
def backend(local_env):
    be = open_local_backend()
    yield be
    be.close()


def with_migration(plan, folder: Path, tag: str, sql: str):
    shutil.copytree(plan.preview.migrations, folder)
    journal = json.loads((folder / "meta/_journal.json").read_text())
    last = journal["entries"][-1]
    journal["entries"].append({**last, "idx": last["idx"] + 1, "when": last["when"] + 1000, "tag": tag})
    (folder / "meta/_journal.json").write_text(json.dumps(journal))
    (folder / f"{tag}.sql").write_text(sql)
    return replace(plan, preview=replace(plan.preview, migrations=folder))


@pytest.mark.slow
def test_preview_create_reports_the_measured_review_and_the_comment_shows_it(backend, tmp_path):
    plan = load_plan(PLAN)
    preview.ensure_long_lived(backend, plan)
    parent = backend.branches.connection("development", database="neondb", role="neondb_owner").url
    with psycopg.connect(parent) as conn:
        (orders,) = conn.execute("SELECT count(*) FROM orders").fetchone()
    pr_plan = with_migration(
        plan, tmp_path / "drizzle", "0003_orders_status", 'CREATE INDEX "orders_status2_idx" ON "orders" ("status");\n'
    )
    report = preview.create(backend, pr_plan, preview.PullRequest(21, "f/status"))
    assert report.migrations == ["0003_orders_status"]
    review = json.loads(json.dumps(report.as_dict()))["review"]  # as `preview create --format json` writes it
    (stmt,) = review["statements"]
    assert stmt["migration"] == "0003_orders_status" and stmt["line"] == 1
    assert {"table": "public.orders", "mode": "SHARE"} in stmt["locks"]
    assert review["tables"]["public.orders"]["rows"] == orders
    assert [f["rule"] for f in review["findings"] if f["severity"] == "error"] == ["require-concurrent-index-creation"]
    assert review["verdict"]["level"] in ("ok", "review", "blocking")

    body = render_preview(PreviewComment.from_report(report.as_dict()))
    assert "### Migration review" in body and "`require-concurrent-index-creation`" in body
    assert f"orders: {orders:,} rows" in body and "| SHARE on orders |" in body
    assert "```mermaid\ngantt" in body and "SHARE on orders :active" in body
    # Nothing pending on the next refresh: no review, no section.
    again = preview.create(backend, pr_plan, preview.PullRequest(21, "f/status"))
    assert again.migrations == [] and again.review is None
    assert "Migration review" not in render_preview(PreviewComment.from_report(again.as_dict()))
