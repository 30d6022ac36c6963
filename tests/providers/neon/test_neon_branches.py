"""The Neon client against the stateful fake: the failures Neon really produces end in the right state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bbops.errors import ProviderError, UsageError
from bbops.providers.base import BranchProvider, InfraProvider
from bbops.providers.neon.branches import NeonBranches
from tests.fakes.plugin import CloudFakes

BRANCHES = r"/api/v2/projects/[^/]+/branches"
PR = {"pr": "42", "git_branch": "feat/cart", "commit": "abc123", "repo": "bb/app"}


@pytest.fixture
def neon(cloud_fakes: CloudFakes) -> NeonBranches:
    client = NeonBranches.from_env(cloud_fakes.env, transport=cloud_fakes.neon.transport(), sleep=cloud_fakes.sleep)
    yield client
    client.close()


def test_implements_the_protocols(neon):
    assert isinstance(neon, BranchProvider) and isinstance(neon, InfraProvider)


def test_create_waits_for_operations_and_returns_the_branch(neon, cloud_fakes):
    expires = datetime.now(UTC) + timedelta(days=7)
    branch = neon.create_branch("preview/pr-42", parent="development", annotations=PR, expires_at=expires)
    assert branch.name == "preview/pr-42" and branch.parent == "development" and branch.pr == 42
    assert branch.annotations["git_branch"] == "feat/cart"
    assert abs((branch.expires_at - expires).total_seconds()) < 1
    assert not cloud_fakes.neon.running()  # every operation finished before we returned
    sent = next(r for r in cloud_fakes.neon.requests if r.method == "POST")
    assert sent.body["endpoints"] == [{"type": "read_write"}]
    assert sent.body["annotation_value"] == PR
    assert sent.body["branch"]["parent_id"] == cloud_fakes.neon.by_name("development")["id"]


def test_a_dropped_connection_after_the_create_does_not_make_a_duplicate(neon, cloud_fakes):
    cloud_fakes.neon.fail("POST", BRANCHES, kind="drop_after")
    branch = neon.create_branch("preview/pr-7", parent="development", annotations=PR)
    assert len(cloud_fakes.neon.named("preview/pr-7")) == 1
    assert branch.id == cloud_fakes.neon.by_name("preview/pr-7")["id"]
    assert cloud_fakes.neon.count("POST", BRANCHES) == 1
    assert not cloud_fakes.neon.running()


def test_a_lost_reply_the_listing_did_not_show_yet_ends_in_the_branch_made(neon, cloud_fakes):
    # The first POST made the branch and its reply was lost; the lookup by name (a listing that lags
    # behind) misses it, so the create is tried again: Neon's 409 says the name is taken, by our branch.
    neon.list_branches()  # the parent is known: the next listing is the lookup after the lost reply
    cloud_fakes.neon.fail("POST", BRANCHES, kind="drop_after")
    cloud_fakes.neon.fail("GET", BRANCHES, status=200, body={"branches": [], "annotations": {}, "pagination": {}})
    branch = neon.create_branch("preview/pr-17", parent="development", annotations=PR)
    assert branch.id == cloud_fakes.neon.by_name("preview/pr-17")["id"] and branch.pr == 42
    assert cloud_fakes.neon.count("POST", BRANCHES, status=409) == 1
    assert len(cloud_fakes.neon.named("preview/pr-17")) == 1 and not cloud_fakes.neon.running()


def test_meanwhile_runs_while_the_operations_run_and_they_are_waited_for_anyway(neon, cloud_fakes):
    fake, seen = cloud_fakes.neon, []
    neon.create_branch("preview/pr-18", parent="development", meanwhile=lambda: seen.append(len(fake.running())))
    assert seen == [2] and not fake.running()  # timeline and compute still running when it was called

    def broken() -> None:
        raise ProviderError("the read failed")

    with pytest.raises(ProviderError, match="the read failed"):
        neon.reset_role_password("preview/pr-18", role="neondb_owner", meanwhile=broken)
    assert not fake.running()  # the reset's operations were still waited for


def test_a_timeout_before_the_server_acted_leads_to_one_new_attempt(neon, cloud_fakes):
    cloud_fakes.neon.fail("POST", BRANCHES, kind="timeout")
    neon.create_branch("preview/pr-8", parent="development")
    assert len(cloud_fakes.neon.named("preview/pr-8")) == 1
    assert cloud_fakes.neon.count("POST", BRANCHES) == 2


def test_423_while_an_operation_runs_is_waited_out(neon, cloud_fakes):
    cloud_fakes.neon.op_ticks = 4
    main_id = cloud_fakes.neon.by_name("main")["id"]
    # Someone else's change is still running when we create a branch: Neon answers 423 at first.
    neon.api.post(f"{neon.base}/endpoints", json={"endpoint": {"branch_id": main_id, "type": "read_only"}})
    assert cloud_fakes.neon.running()
    neon.create_branch("preview/pr-2", parent="development")
    assert cloud_fakes.neon.count("POST", BRANCHES, status=423) >= 1
    assert cloud_fakes.neon.count("POST", BRANCHES, status=201) == 1
    assert len(cloud_fakes.neon.named("preview/pr-2")) == 1
    assert cloud_fakes.sleeps, "a 423 must cause a backoff wait"
    assert not cloud_fakes.neon.running()


def test_429_with_retry_after_and_5xx_are_retried(neon, cloud_fakes):
    cloud_fakes.neon.fail("GET", BRANCHES, status=429, headers={"Retry-After": "2"})
    cloud_fakes.neon.fail("GET", BRANCHES, status=503)
    cloud_fakes.neon.fail("GET", BRANCHES, status=502)
    assert {b.name for b in neon.list_branches()} == {"main", "development"}
    assert 2.0 in cloud_fakes.sleeps


def test_pagination_over_several_pages_and_exact_name_search(neon, cloud_fakes, monkeypatch):
    for n in range(1, 26):
        cloud_fakes.neon.add_branch(f"preview/pr-{n}", parent="development")
    monkeypatch.setattr("bbops.providers.neon.branches.PAGE_SIZE", 4)
    names = [b.name for b in neon.list_branches()]
    assert len(names) == 27 and len(set(names)) == 27
    assert cloud_fakes.neon.count("GET", BRANCHES) >= 7
    # "preview/pr-2" is a substring of pr-20..pr-25: only the exact one is returned.
    found = neon.get_branch("preview/pr-2")
    assert found is not None and found.name == "preview/pr-2" and found.parent == "development"
    assert neon.get_branch("preview/pr-99") is None


def test_an_operation_in_error_is_an_error_with_the_operation_message(neon, cloud_fakes):
    cloud_fakes.neon.error_next_operation = "create_timeline"
    with pytest.raises(ProviderError, match="create_timeline failed: storage unavailable"):
        neon.create_branch("preview/pr-3", parent="development")


def test_a_failed_operation_that_neon_retries_is_waited_out(neon, cloud_fakes):
    cloud_fakes.neon.fail_next_operation = "create_timeline"
    branch = neon.create_branch("preview/pr-4", parent="development")
    assert branch.name == "preview/pr-4"
    retried = [op for op in cloud_fakes.neon.operations.values() if op["action"] == "create_timeline"][-1]
    assert (retried["status"], retried["failures_count"]) == ("finished", 1)
    assert not cloud_fakes.neon.running()


def test_delete_treats_an_out_of_band_delete_as_done(neon, cloud_fakes):
    neon.create_branch("preview/pr-5", parent="development")
    assert neon.delete_branch("preview/pr-5") is True
    assert neon.delete_branch("preview/pr-5") is False
    neon.create_branch("preview/pr-6", parent="development")
    cloud_fakes.neon.delete_out_of_band("preview/pr-6")
    assert neon.delete_branch("preview/pr-6") is False
    # Deleted between our lookup and our DELETE: the 404 still means success.
    neon.create_branch("preview/pr-9", parent="development")
    cloud_fakes.neon.fail("DELETE", BRANCHES + "/.*", status=404)
    assert neon.delete_branch("preview/pr-9") is False
    assert neon.get_branch("preview/pr-5") is None


def test_expiry_more_than_30_days_ahead_is_refused_before_calling(neon, cloud_fakes):
    with pytest.raises(UsageError, match="30 days"):
        neon.create_branch("preview/pr-4", parent="development", expires_at=datetime.now(UTC) + timedelta(days=31))
    assert cloud_fakes.neon.count("POST", BRANCHES) == 0


def test_update_expiry_and_protect(neon, cloud_fakes):
    neon.create_branch("preview/pr-10", parent="development")
    later = datetime.now(UTC) + timedelta(days=3)
    branch = neon.update_branch("preview/pr-10", expires_at=later)
    assert abs((branch.expires_at - later).total_seconds()) < 1
    assert neon.set_protected("development", True).protected is True
    assert cloud_fakes.neon.by_name("development")["protected"] is True


def test_reset_restores_from_the_parent_and_can_keep_the_old_state(neon, cloud_fakes):
    neon.create_branch("preview/pr-11", parent="development")
    neon.reset_branch("preview/pr-11", preserve_under_name="preview/pr-11-old")
    restore = next(r for r in cloud_fakes.neon.requests if r.path.endswith("/restore"))
    assert restore.body == {
        "source_branch_id": cloud_fakes.neon.by_name("development")["id"],
        "preserve_under_name": "preview/pr-11-old",
    }
    assert neon.get_branch("preview/pr-11-old") is not None
    with pytest.raises(UsageError):
        neon.reset_branch("main")


def test_connection_strings_are_fetched_per_branch_and_registered_as_secrets(neon, cloud_fakes):
    from bbops.core import redact

    neon.create_branch("preview/pr-12", parent="development")
    pooled = neon.connection("preview/pr-12", database="neondb", role="neondb_owner")
    direct = neon.connection("preview/pr-12", database="neondb", role="neondb_owner", pooled=False)
    main = neon.connection("main", database="neondb", role="neondb_owner", pooled=False)
    assert "-pooler" in pooled.host and "-pooler" not in direct.host
    assert main.url != direct.url
    password = cloud_fakes.neon.passwords[cloud_fakes.neon.by_name("preview/pr-12")["id"]]
    assert password in direct.url and password not in repr(direct) and password not in str(direct)
    assert redact.scrub(f"x {direct.url} y") == "x *** y"
    call = next(r for r in cloud_fakes.neon.requests if r.path.endswith("/connection_uri"))
    assert call.params == {
        "branch_id": cloud_fakes.neon.by_name("preview/pr-12")["id"],
        "database_name": "neondb",
        "role_name": "neondb_owner",
        "pooled": "true",
    }


def test_missing_settings_are_usage_errors(cloud_fakes):
    with pytest.raises(UsageError, match="NEON_API_KEY"):
        NeonBranches.from_env({})
    with pytest.raises(UsageError, match="project id"):
        NeonBranches.from_env({"NEON_API_KEY": "k" * 8})
    env = dict(cloud_fakes.env, NEON_PROJECT_ID="")
    assert NeonBranches.from_env(env, project_id="from-plan").project_id == "from-plan"
    env = dict(cloud_fakes.env, NEON_PROJECT_ID="from-env")
    assert NeonBranches.from_env(env, project_id="from-plan").project_id == "from-env"


def test_deleting_a_deleted_branch_answers_204_and_counts_as_already_gone(neon, cloud_fakes):
    fake = cloud_fakes.neon
    gone = fake.add_branch("preview/pr-77", parent="development")
    fake.delete_out_of_band("preview/pr-77")
    answer = neon.api.request("DELETE", f"/projects/{fake.project_id}/branches/{gone['id']}")
    assert answer.status_code == 204  # spec: "Returned if the branch doesn't exist or has already been deleted"
    # Found by the lookup, deleted by someone else before the DELETE arrived: not "deleted by us".
    fake.add_branch("preview/pr-78", parent="development")
    fake.fail("DELETE", BRANCHES + "/.*", status=204, body={})
    assert neon.delete_branch("preview/pr-78") is False


def test_a_restore_that_preserves_moves_the_children_to_the_preserved_branch(neon, cloud_fakes):
    fake = cloud_fakes.neon
    neon.restore_to_time("main", datetime(2020, 1, 1, tzinfo=UTC), preserve_under_name="main-before-rollback-1")
    kept = fake.by_name("main-before-rollback-1")
    assert fake.by_name("development")["parent_id"] == kept["id"]  # moved, as the API reference says
    assert kept["parent_id"] is None  # the old state of a root keeps no parent
    assert neon.get_branch("development").parent == "main-before-rollback-1"


def test_a_second_branch_of_the_same_name_is_refused_with_409(neon, cloud_fakes):
    neon.create_branch("preview/pr-79", parent="development")
    with pytest.raises(ProviderError) as err:
        neon.create_branch("preview/pr-79", parent="development")
    assert err.value.status == 409 and "already exists" in str(err.value)
    assert len(cloud_fakes.neon.named("preview/pr-79")) == 1


def test_the_project_reports_its_branch_limit(neon, cloud_fakes):
    assert neon.branch_limit() == 10  # Neon's free plan
    cloud_fakes.neon.project["owner"]["branches_limit"] = 5000
    assert neon.branch_limit() == 5000
