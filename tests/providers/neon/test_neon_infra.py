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
