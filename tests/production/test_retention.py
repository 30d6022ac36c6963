"""Restore points and rolled-back states are kept by the plan's retention rule and pruned by `preview gc`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bbops import preview
from bbops.plan import load_plan
from bbops.plan.model import Retention
from bbops.production.retention import expendable
from bbops.providers.base import Branch
from tests import REPO_ROOT
from tests.fakes.plugin import CloudFakes

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _b(name: str, days_old: float, parent: str | None = "main") -> Branch:
    return Branch(name, f"br-{name}", parent=parent, created_at=NOW - timedelta(days=days_old))


def test_keeps_the_last_n_of_each_kind_and_anything_young():
    branches = [
        _b("main", 400, None),
        _b("development", 300),
        *[_b(f"bbops-rp-{i:07d}", 30 - i) for i in range(6)],  # 30..25 days old
        _b("bbops-rp-young01", 2),
        _b("main-before-rollback-20260101t000000", 150, None),
        _b("main-before-rollback-20260201t000000", 120, None),
        _b("feature-x", 90),  # not ours: never touched
    ]
    gone = {b.name for b in expendable(branches, Retention(keep_last=3, keep_days=7), NOW)}
    # Seven restore points: the newest three stay (one of them young anyway); the four oldest go.
    assert gone == {"bbops-rp-0000000", "bbops-rp-0000001", "bbops-rp-0000002", "bbops-rp-0000003"}
    gone = {b.name for b in expendable(branches, Retention(keep_last=1, keep_days=0), NOW)}
    assert "main-before-rollback-20260101t000000" in gone and "main-before-rollback-20260201t000000" not in gone


def test_a_rolled_back_state_with_children_is_never_deleted():
    branches = [
        _b("main", 400, None),
        _b("main-before-rollback-20260101t000000", 150, None),
        _b("main-before-rollback-20260201t000000", 120, None),
        _b("main-before-rollback-20260301t000000", 90, None),
        _b("development", 300, parent="main-before-rollback-20260101t000000"),  # moved there by Neon
    ]
    assert expendable(branches, Retention(keep_last=1, keep_days=0), NOW) == [branches[2]]


def test_preview_gc_prunes_restore_points_past_retention(cloud_backend, cloud_fakes: CloudFakes):
    neon = cloud_fakes.neon
    for i in range(5):
        branch = neon.add_branch(f"bbops-rp-000000{i}", parent="main", endpoint=False)
        branch["created_at"] = (datetime.now(UTC) - timedelta(days=30 - i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = load_plan(REPO_ROOT / "plans" / "bb-prodx.yaml")  # no retention given: the defaults, 3 and 7 days
    dry = preview.gc(cloud_backend, plan, dry_run=True)
    assert dry.pruned == ["bbops-rp-0000000", "bbops-rp-0000001"] and len(neon.named("bbops-rp-0000000")) == 1
    report = preview.gc(cloud_backend, plan)
    assert report.pruned == ["bbops-rp-0000000", "bbops-rp-0000001"]
    assert not neon.named("bbops-rp-0000000") and neon.named("bbops-rp-0000002")
