"""bbops.providers.local.status: what `bbops local status|stop` report, called directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbops.core.report import as_text
from bbops.providers.local import LocalBackend
from bbops.providers.local.status import local_status, size, stop_server


def test_size_in_binary_units_up_to_gigabytes():
    assert [size(n) for n in (None, 0, 1023, 1536, 5 * 1024**2, 3 * 1024**4)] == [
        "-",
        "0 B",
        "1023 B",
        "1.5 kB",
        "5.0 MB",
        "3072.0 GB",
    ]


def test_a_server_never_started_is_reported_without_starting_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "home"
    monkeypatch.setenv("BBOPS_HOME", str(home))
    monkeypatch.delenv("BBOPS_LOCAL_DATABASE_URL", raising=False)
    monkeypatch.delenv("BBOPS_LOCAL_NAMESPACE", raising=False)
    status = local_status()
    assert not status.server.running and status.branches == [] and status.env_vars == 0
    assert as_text(status).splitlines() == [
        "server:   embedded, not running",
        f"data dir: {home / 'pgdata'}",
        f"state:    {home}",
        "env vars: 0",
    ]
    stopped = stop_server()
    assert stopped.as_dict() == {"stopped": False, "kind": "embedded"}
    assert as_text(stopped) == "the embedded Postgres server is not running"
    assert not home.exists()


def test_an_external_server_lists_its_branches_and_is_never_stopped(external_backend: LocalBackend):
    status = local_status()
    assert status.server.kind == "external" and status.namespace == external_backend.branches.namespace
    assert [(b["name"], b["pr"]) for b in status.as_dict()["branches"]] == [("main", None), ("preview/pr-9", 9)]
    lines = as_text(status).splitlines()
    assert lines[0] == "server:   external, running" and f"(namespace {status.namespace})" in lines[2]
    table = lines[lines.index("2 branch(es)") + 1 :]
    assert table[0] == "branch\tparent\tpr\texpires\tsize"
    assert table[2].startswith("preview/pr-9\tmain\t9\t-\t") and table[2].endswith(" MB")
    stopped = stop_server()
    assert (stopped.stopped, stopped.kind) == (False, "external")
    assert "bbops does not stop it" in as_text(stopped)
