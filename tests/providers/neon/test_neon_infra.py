"""Neon project settings and endpoints (read replicas) against the fake."""

from __future__ import annotations

import pytest

from bbops.errors import UsageError
from bbops.providers.neon.branches import NeonBranches
from tests.fakes.plugin import CloudFakes

ENDPOINTS = r"/api/v2/projects/[^/]+/endpoints"


@pytest.fixture
def neon(cloud_fakes: CloudFakes) -> NeonBranches:
    client = NeonBranches.from_env(cloud_fakes.env, transport=cloud_fakes.neon.transport(), sleep=cloud_fakes.sleep)
    yield client
    client.close()


def test_settings_round_trip_and_allowed_ips_keep_their_other_half(neon, cloud_fakes):
    settings = neon.get_settings()
    assert settings.region == "aws-eu-central-1" and settings.pg_version == 16
    neon.update_settings({"allowed_ips_protected_only": True})
    after = neon.update_settings(
        {"allowed_ips": ("10.0.0.0/8",), "history_retention_seconds": 7 * 86400, "autoscaling_max_cu": 4}
    )
    assert after.allowed_ips == ("10.0.0.0/8",) and after.allowed_ips_protected_only is True
    assert after.history_retention_seconds == 7 * 86400 and after.autoscaling_max_cu == 4
    patch = [r for r in cloud_fakes.neon.requests if r.method == "PATCH"][-1]
    assert patch.body["project"]["default_endpoint_settings"] == {"autoscaling_limit_max_cu": 4}
    assert not cloud_fakes.neon.running()
    with pytest.raises(UsageError, match="region"):
        neon.update_settings({"region": "aws-us-east-2"})


def test_read_replica_create_survives_a_lost_reply_without_a_duplicate(neon, cloud_fakes):
    cloud_fakes.neon.fail("POST", ENDPOINTS, kind="drop_after")
    replica = neon.create_endpoint("main", type="read_only", autoscaling_min_cu=0.25, autoscaling_max_cu=2)
    replicas = [e for e in neon.list_endpoints() if e.type == "read_only"]
    assert [r.id for r in replicas] == [replica.id] and replicas[0].branch == "main"
    assert cloud_fakes.neon.count("POST", ENDPOINTS) == 1


def test_update_and_delete_endpoint(neon, cloud_fakes):
    replica = neon.create_endpoint("main", autoscaling_max_cu=2)
    assert neon.update_endpoint(replica.id, {"autoscaling_max_cu": 1}).autoscaling_max_cu == 1
    assert neon.delete_endpoint(replica.id) is True
    assert neon.delete_endpoint(replica.id) is False  # already gone
    with pytest.raises(UsageError):
        neon.update_endpoint(replica.id, {"type": "read_write"})


def test_a_read_replicas_connection_is_its_endpoints_from_one_listing(neon, cloud_fakes):
    fake = cloud_fakes.neon
    main_id = fake.by_name("main")["id"]
    assert neon.replica_connection("main", database="neondb", role="neondb_owner") is None  # none yet
    second = fake._add_endpoint(main_id, "read_only")
    first = fake._add_endpoint(main_id, "read_only")
    first, second = sorted((first, second), key=lambda e: e["id"])
    listed = fake.count("GET", ENDPOINTS)
    neon.list_endpoints()  # e.g. `bbops plan`'s own listing: the replica lookups below reuse it
    pooled = neon.replica_connection("main", database="neondb", role="neondb_owner", pooled=True)
    direct = neon.replica_connection("main", database="neondb", role="neondb_owner", pooled=False)
    again = neon.replica_connection("main", database="neondb", role="neondb_owner", pooled=True)
    assert fake.count("GET", ENDPOINTS) == listed + 1
    assert again is pooled  # asked once per command
    assert pooled.host == first["host"].replace(first["id"], first["id"] + "-pooler") and pooled.pooled
    assert direct.host == first["host"] and not direct.pooled
    assert fake.passwords[main_id] in pooled.url
    primary = neon.connection("main", database="neondb", role="neondb_owner", pooled=False)
    assert primary.host not in (first["host"], second["host"])
    # A replica made by this command joins its listing; one it deletes leaves it: no second listing.
    made = neon.create_endpoint("development", type="read_only")
    assert neon.replica_connection("development", database="neondb", role="neondb_owner").host.startswith(made.id)
    neon.delete_endpoint(first["id"])
    after = neon.replica_connection("main", database="neondb", role="neondb_owner", pooled=False)
    assert after.host == second["host"]


def test_the_fake_serves_an_endpoints_uri_only_on_its_own_branch(cloud_fakes):
    # neon-api-v2.yaml, getConnectionURI: endpoint_id selects the compute (default: the read-write one).
    import httpx

    fake = cloud_fakes.neon
    replica = fake._add_endpoint(fake.by_name("main")["id"], "read_only")
    with httpx.Client(transport=fake.transport(), base_url="https://neon.test/api/v2") as client:
        headers = {"Authorization": f"Bearer {fake.token}"}
        path = f"/projects/{fake.project_id}/connection_uri"
        params = {"database_name": "neondb", "role_name": "neondb_owner", "endpoint_id": replica["id"]}
        on_main = client.get(path, params={**params, "branch_id": fake.by_name("main")["id"]}, headers=headers)
        elsewhere = client.get(path, params={**params, "branch_id": fake.by_name("development")["id"]}, headers=headers)
    assert on_main.status_code == 200 and f"@{replica['host']}/" in on_main.json()["uri"]
    assert elsewhere.status_code == 404


def test_a_password_reset_forgets_the_replicas_connection_strings_too(neon, cloud_fakes):
    fake = cloud_fakes.neon
    main_id = fake.by_name("main")["id"]
    fake._add_endpoint(main_id, "read_only")
    before = neon.replica_connection("main", database="neondb", role="neondb_owner")
    neon.reset_role_password("main", role="neondb_owner")
    after = neon.replica_connection("main", database="neondb", role="neondb_owner")
    assert after.host == before.host and after.url != before.url
    assert fake.passwords[main_id] in after.url
