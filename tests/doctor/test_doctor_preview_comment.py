"""The preview comment's doctor section: what a PR adds against its parent, on the local backend."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from bbops import preview
from bbops.cli import main
from bbops.doctor import Finding, Severity
from bbops.github.comment import PreviewComment, render_preview
from bbops.plan import load_plan
from bbops.providers.local import open_local_backend
from tests import REPO_ROOT

FK = Finding(
    "fk.unindexed",
    Severity.WARNING,
    "foreign key coupons_user_id_fkey on public.coupons (user_id) has no index",
    ("public.coupons.user_id", "public.users"),
    {"on_delete": "CASCADE"},
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS "coupons_user_id_idx" ON "public"."coupons" ("user_id");',
)


def test_section_renders_new_findings_nothing_new_or_why_not() -> None:
    base = {"pr": 5, "branch": "preview/pr-5", "parent": "development"}
    body = render_preview(PreviewComment.from_report(base, doctor_findings=[FK]))
    assert "**Database health** (`bbops doctor`: findings new against the parent)" in body
    assert "| warning | `fk.unindexed` | `public.coupons.user_id`, `public.users` |" in body
    assert 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "coupons_user_id_idx"' in body
    assert body.index("**Migrations run**") < body.index("**Database health**") < body.index("**Schema against")
    assert "_nothing new_" in render_preview(PreviewComment.from_report(base, doctor_findings=[]))
    assert "_not computed: boom_" in render_preview(PreviewComment.from_report(base, doctor_note="boom"))
    assert "Database health" not in render_preview(PreviewComment.from_report(base))


def test_a_pr_adding_an_unindexed_foreign_key_hears_about_it(local_env: Path, tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    shutil.copytree(REPO_ROOT / "plans", plans)
    plan = load_plan(plans / "bb-prodx.yaml")
    backend = open_local_backend()
    try:
        preview.ensure_long_lived(backend, plan)  # development: the app's migrations, no finding of the schema kind
        drizzle = plans / "bb-prodx" / "drizzle"
        journal = json.loads((drizzle / "meta" / "_journal.json").read_text())
        last = journal["entries"][-1]
        journal["entries"].append({**last, "idx": last["idx"] + 1, "when": last["when"] + 1000, "tag": "0004_coupons"})
        (drizzle / "meta" / "_journal.json").write_text(json.dumps(journal, indent=2))
        (drizzle / "0004_coupons.sql").write_text(
            'CREATE TABLE "coupons" ("id" serial PRIMARY KEY, '
            '"user_id" uuid REFERENCES "users" ("id") ON DELETE CASCADE, "code" text NOT NULL);'
        )
        report = preview.create(backend, plan, preview.PullRequest(5, "feature/coupons", None, None))
    finally:
        backend.close()
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report.as_dict()))
    args = ["comment", "preview", "--pr", "5", "--repo", "acme/shop", "--report", str(path)]
    result = CliRunner().invoke(
        main, [*args, "--plan", str(plans / "bb-prodx.yaml"), "--backend", "local", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    body = result.stdout
    assert "- `0004_coupons`" in body and "**Database health**" in body
    rows = [line for line in body.splitlines() if line.startswith(("| warning |", "| error |"))]
    # Only what the PR adds: the index.redundant both branches have (reviews_product_id_idx) is not repeated.
    assert len(rows) == 1 and rows[0].startswith(
        "| warning | `fk.unindexed` | `public.coupons.user_id`, `public.users` |"
    )
    assert 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "coupons_user_id_idx"' in body
