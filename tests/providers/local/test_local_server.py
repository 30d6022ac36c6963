"""The embedded server (one real start/stop under a temporary BBOPS_HOME) and `bbops local`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from bbops.cli import main
from bbops.providers.local import LocalBackend, open_local_backend
from bbops.providers.local.server import LocalServer
from bbops.providers.local.state import state_home

_START = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bbops.providers.local.server import LocalServer
    server = LocalServer(Path(sys.argv[1]), url="")
    server.ensure_running()
    print(server.status().pid)
    """
)


@pytest.fixture
def embedded_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("BBOPS_HOME", str(home))
    monkeypatch.delenv("BBOPS_LOCAL_DATABASE_URL", raising=False)
    monkeypatch.delenv("BBOPS_LOCAL_NAMESPACE", raising=False)
    return home


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_embedded_server_is_started_once_reused_and_stopped(embedded_env: Path) -> None:
    home = embedded_env
    # status never starts anything
    code, out = _cli("local", "status", "--format", "json")
    assert code == 0 and json.loads(out)["server"] == {
        "kind": "embedded",
        "running": False,
        "url": None,
        "data_dir": str(home / "pgdata"),
        "pid": None,
    }
    code, out = _cli("local", "stop")
    assert code == 0 and "not running" in out
    assert not home.exists()  # looking and stopping create nothing

    # two processes starting it at once end up sharing one server
    procs = [
        subprocess.Popen([sys.executable, "-c", _START, str(home)], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    pids = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert [p.returncode for p in procs] == [0, 0]
    assert len(pids) == 1 and pids.pop().isdigit()

    # a third user (this process) reuses it, and can make branches on it
    backend = open_local_backend()
    try:
        backend.branches.create_root("main", protected=True)
        code, out = _cli("local", "status", "--format", "json")
        data = json.loads(out)
        assert data["server"]["running"] is True and data["server"]["url"].startswith("postgresql://postgres@/")
        assert [b["name"] for b in data["branches"]] == ["main"] and data["branches"][0]["size_bytes"] > 0
        code, out = _cli("local", "status")
        assert code == 0 and "embedded, running" in out and "main" in out
    finally:
        backend.close()

    code, out = _cli("local", "stop")
    assert code == 0 and "stopped" in out
    assert LocalServer(home).status().running is False
    code, out = _cli("local", "stop", "--format", "json")
    assert json.loads(out) == {"stopped": False, "kind": "embedded"}

    # started again in the same process: the data survived the stop
    backend = open_local_backend()
    try:
        assert [b.name for b in backend.branches.list_branches()] == ["main"]
    finally:
        backend.close()
        LocalServer(home).stop()


def test_local_commands_with_an_external_server(pg_server_url: str, external_backend: LocalBackend) -> None:
    code, out = _cli("local", "status", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["server"]["kind"] == "external" and data["server"]["running"] is True
    assert data["namespace"] == external_backend.branches.namespace and data["env_vars"] == 0
    assert {(b["name"], b["pr"]) for b in data["branches"]} == {("main", None), ("preview/pr-9", 9)}
    code, out = _cli("local", "stop", "--format", "json")
    assert code == 0 and json.loads(out) == {"stopped": False, "kind": "external"}
    with psycopg.connect(pg_server_url) as conn:  # still up
        conn.execute("SELECT 1")


def test_an_unreachable_external_server_is_a_provider_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BBOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BBOPS_LOCAL_DATABASE_URL", f"postgresql://app:{'npg_' + 'q' * 16}@127.0.0.1:1/app")
    code, out = _cli("local", "status", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["server"]["running"] is False and "npg_" not in out
    backend = open_local_backend()
    try:
        with pytest.raises(Exception) as info:
            backend.branches.list_branches()
        assert getattr(info.value, "exit_code", None) == 4 and "npg_" not in str(info.value)
    finally:
        backend.close()


def test_state_home_is_the_projects_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BBOPS_HOME", raising=False)
    project = tmp_path / "app"
    (project / ".git").mkdir(parents=True)
    (project / "src" / "deep").mkdir(parents=True)
    assert state_home(project / "src" / "deep") == project / ".bbops"
    (project / "src" / ".bbops").mkdir()  # an existing state folder nearer wins
    assert state_home(project / "src" / "deep") == project / "src" / ".bbops"
    monkeypatch.setenv("BBOPS_HOME", str(tmp_path / "elsewhere"))
    assert state_home(project) == tmp_path / "elsewhere"


def test_a_stale_postmaster_pid_is_not_a_running_server(tmp_path: Path) -> None:
    data = tmp_path / "home" / "pgdata"
    data.mkdir(parents=True)
    # a pid file left by a crash, whose pid now belongs to another program (this test)
    (data / "postmaster.pid").write_text(f"{os.getpid()}\n{data}\n1700000000\n5432\n{data}\n\n  1 2\nready\n")
    status = LocalServer(tmp_path / "home", url="").status()
    assert status.running is False and status.pid is None
