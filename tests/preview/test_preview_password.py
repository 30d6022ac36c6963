"""Issue 12 item 10: a preview's credentials must not open its parent branch."""

from __future__ import annotations

import pytest

from bbops import preview
from bbops.plan import load_plan
from tests import REPO_ROOT
from tests.fakes.plugin import CloudFakes

PLAN = REPO_ROOT / "plans" / "bb-prodx.yaml"


@pytest.fixture(autouse=True)
def _no_runner(monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)


def _password(fakes: CloudFakes, branch: str) -> str:
    return fakes.neon.passwords[fakes.neon.by_name(branch)["id"]]


def test_item10_fake_child_of_unprotected_branch_shares_its_password(cloud_fakes: CloudFakes):
    # The fake's likeness this test relies on (design.md): without a reset, the passwords are equal.
    cloud_fakes.neon.add_branch("child", parent="development")
    assert _password(cloud_fakes, "child") == _password(cloud_fakes, "development")
    cloud_fakes.neon.add_branch("child-of-main", parent="main")  # main is protected
    assert _password(cloud_fakes, "child-of-main") != _password(cloud_fakes, "main")


def test_item10_preview_password_does_not_open_its_parent(cloud_backend_pg, cloud_fakes_pg: CloudFakes):
    plan = load_plan(PLAN)
    report = preview.create(cloud_backend_pg, plan, preview.PullRequest(5, "feature/pw", "abc123", "bb/app"))
    neon = cloud_fakes_pg.neon
    preview_id = neon.by_name(report.branch)["id"]
    assert (preview_id, plan.neon.role) in neon.password_resets
    assert _password(cloud_fakes_pg, report.branch) != _password(cloud_fakes_pg, report.parent)
    assert not neon.running()  # the reset's operations were waited for

    # A reset to the parent's state makes a new password again; a refresh of an existing preview does not.
    preview.reset(cloud_backend_pg, plan, 5)
    assert neon.password_resets.count((preview_id, plan.neon.role)) == 2
    preview.create(cloud_backend_pg, plan, preview.PullRequest(5, "feature/pw", "def456", "bb/app"))
    assert neon.password_resets.count((preview_id, plan.neon.role)) == 2


def test_item10_reset_password_answer_is_registered_as_a_secret(cloud_backend, cloud_fakes: CloudFakes):
    from bbops.core import redact

    cloud_fakes.neon.add_branch("preview/pr-3", parent="development")
    cloud_backend.branches.reset_role_password("preview/pr-3", role="neondb_owner")
    new = _password(cloud_fakes, "preview/pr-3")
    assert new not in redact.scrub(f"password {new}")


def test_connection_strings_read_while_the_reset_runs_hold_the_new_password(cloud_backend, cloud_fakes: CloudFakes):
    # The preview reads its connection strings while the reset's operations run (no extra poll): they
    # must hold the new password (Neon stores it at once), and none read before the reset may be reused.
    branches, role = cloud_backend.branches, "neondb_owner"
    branches.create_branch("preview/pr-4", parent="development")
    before = branches.connection("preview/pr-4", database="neondb", role=role, pooled=False).url
    assert _password(cloud_fakes, "development") in before  # a child of an unprotected branch: its parent's

    def read() -> None:
        assert cloud_fakes.neon.running()  # still applying the new password
        for pooled in (False, True):
            branches.connection("preview/pr-4", database="neondb", role=role, pooled=pooled)

    assert branches.reset_role_password("preview/pr-4", role=role, meanwhile=read) is True
    assert not cloud_fakes.neon.running()
    new = _password(cloud_fakes, "preview/pr-4")
    for pooled in (False, True):
        url = branches.connection("preview/pr-4", database="neondb", role=role, pooled=pooled).url
        assert new in url and _password(cloud_fakes, "development") not in url


def test_a_failed_password_reset_deletes_the_new_preview_so_no_run_reuses_it(
    cloud_backend_pg, cloud_fakes_pg: CloudFakes
):
    from bbops.errors import ProviderError

    plan = load_plan(PLAN)
    neon = cloud_fakes_pg.neon
    neon.fail("POST", r".*/reset_password", status=500, times=20)
    with pytest.raises(ProviderError, match="was deleted so no unscrubbed data is left"):
        preview.create(cloud_backend_pg, plan, preview.PullRequest(6, "feature/pw", "abc123", "bb/app"))
    assert neon.named("preview/pr-6") == []  # not left with its parent's password and data
    neon.faults.clear()  # Neon answers again
    report = preview.create(cloud_backend_pg, plan, preview.PullRequest(6, "feature/pw", "abc123", "bb/app"))
    assert report.created and (neon.by_name(report.branch)["id"], plan.neon.role) in neon.password_resets


def test_a_reset_password_refuses_the_old_one_and_later_connection_strings_carry_the_new(
    cloud_backend_pg, cloud_fakes_pg: CloudFakes
):
    import psycopg

    branches = cloud_backend_pg.branches
    before = branches.connection("main", database="neondb", role="neondb_owner", pooled=False).url
    with psycopg.connect(before) as conn:  # the branch's own role, with its password
        assert conn.execute("SELECT current_user").fetchone()[0] != "postgres"
    if not cloud_fakes_pg.neon.databases.passwords_enforced():
        pytest.skip("the test server trusts every login (BBOPS_TEST_DATABASE_URL): passwords are not checked")

    def meanwhile() -> None:  # Neon: "the old password remains valid until last operation finishes"
        assert cloud_fakes_pg.neon.running()
        psycopg.connect(before, connect_timeout=5).close()

    assert branches.reset_role_password("main", role="neondb_owner", meanwhile=meanwhile) is True
    after = branches.connection("main", database="neondb", role="neondb_owner", pooled=False).url
    assert after != before  # not the connection string this command saw before the reset
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(before, connect_timeout=5)
    with psycopg.connect(after) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # Only that branch: development (made from protected main) keeps its own password.
    dev = branches.connection("development", database="neondb", role="neondb_owner", pooled=False).url
    psycopg.connect(dev, connect_timeout=5).close()


def test_a_preview_left_with_its_parents_password_gets_its_own_on_the_next_run(
    cloud_backend_pg, cloud_fakes_pg: CloudFakes, monkeypatch
):
    """A run killed between making the branch and resetting its password (no clean-up ran): the next run
    sees the parent's password on the preview it reuses and resets it, with no request of its own."""
    from bbops.preview import lifecycle

    plan = load_plan(PLAN)
    neon = cloud_fakes_pg.neon

    def killed(*args, **kwargs):
        raise SystemExit("killed")

    with monkeypatch.context() as m:
        m.setattr(cloud_backend_pg.branches, "reset_role_password", killed)
        m.setattr(lifecycle, "_clean_up", lambda *args, **kwargs: "nothing (killed)")
        with pytest.raises(SystemExit):
            preview.create(cloud_backend_pg, plan, preview.PullRequest(9, "feature/kill", "abc123", "bb/app"))
    assert _password(cloud_fakes_pg, "preview/pr-9") == _password(cloud_fakes_pg, "development")

    report = preview.create(cloud_backend_pg, plan, preview.PullRequest(9, "feature/kill", "abc123", "bb/app"))
    assert not report.created
    assert _password(cloud_fakes_pg, "preview/pr-9") != _password(cloud_fakes_pg, "development")
    assert (neon.by_name("preview/pr-9")["id"], plan.neon.role) in neon.password_resets
    # The next refresh finds the preview's own password: no further reset.
    resets = len(neon.password_resets)
    preview.create(cloud_backend_pg, plan, preview.PullRequest(9, "feature/kill", "def456", "bb/app"))
    assert len(neon.password_resets) == resets
