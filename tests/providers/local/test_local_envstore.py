"""LocalEnv: Vercel's env model in a file, atomic and safe for concurrent writers."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bbops.core import redact
from bbops.errors import ProviderError, UsageError
from bbops.providers.base import EnvProvider, EnvVar
from bbops.providers.local.envstore import LocalEnv


def _fake_url(tag: str) -> str:
    return f"postgresql://app:{'npg_' + tag * 12}@localhost/app"


def test_is_an_env_provider(tmp_path: Path) -> None:
    assert isinstance(LocalEnv(tmp_path), EnvProvider)


def test_upsert_list_delete_scoped_by_target_and_git_branch(tmp_path: Path) -> None:
    env = LocalEnv(tmp_path)
    stored = env.upsert_env(
        [
            EnvVar("DATABASE_URL", _fake_url("p"), targets=("production",)),
            EnvVar("DATABASE_URL", _fake_url("v"), targets=("preview",)),
            EnvVar("DATABASE_URL", _fake_url("a"), targets=("preview",), git_branch="feat/a"),
            EnvVar("DATABASE_URL", _fake_url("b"), targets=("preview",), git_branch="feat/b"),
            EnvVar("LOG_LEVEL", "debug", type="plain", targets=("development", "preview")),
        ]
    )
    assert all(v.id for v in stored) and len({v.id for v in stored}) == 5
    assert {v.value for v in env.list_env(target="production")} == {_fake_url("p")}
    assert [v.value for v in env.list_env(git_branch="feat/a")] == [_fake_url("a")]
    assert len(env.list_env(target="preview")) == 4
    assert [v.key for v in env.list_env(target="development")] == ["LOG_LEVEL"]

    # same scope: replaced in place, same id; another scope untouched
    again = env.upsert_env([EnvVar("DATABASE_URL", _fake_url("A"), targets=("preview",), git_branch="feat/a")])
    assert again[0].id == stored[2].id
    assert [v.value for v in env.list_env(git_branch="feat/a")] == [_fake_url("A")]
    assert [v.value for v in env.list_env(git_branch="feat/b")] == [_fake_url("b")]

    # delete by scope (no id) and by id; already-gone deletes count 0
    assert env.delete_env([EnvVar("DATABASE_URL", "", targets=("preview",), git_branch="feat/a")]) == 1
    assert env.delete_env([EnvVar("x", "", id=stored[3].id)]) == 1
    assert env.delete_env([EnvVar("x", "", id=stored[3].id)]) == 0
    assert env.list_env(git_branch="feat/a") == [] and env.list_env(git_branch="feat/b") == []
    assert len(env.list_env()) == 3


def test_values_are_registered_secrets_and_the_file_is_private(tmp_path: Path) -> None:
    LocalEnv(tmp_path).upsert_env([EnvVar("DATABASE_URL", _fake_url("s"), targets=("preview",))])
    redact.clear()
    listed = LocalEnv(tmp_path).list_env()
    assert redact.scrub(f"url={listed[0].value}") == "url=***"
    assert _fake_url("s") not in repr(listed[0])
    mode = stat.S_IMODE(os.stat(tmp_path / "env.json").st_mode)
    assert mode == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_invalid_variables_are_usage_errors_without_values(tmp_path: Path) -> None:
    env = LocalEnv(tmp_path)
    secret = "npg_" + "z" * 16
    bad = [
        EnvVar("1BAD", secret),
        EnvVar("OK", secret, targets=()),
        EnvVar("OK", secret, targets=("staging",)),
        EnvVar("OK", secret, type="secret"),  # type: ignore[arg-type]  # an invalid type on purpose: the store refuses it
        EnvVar("OK", secret, targets=("production",), git_branch="feat/x"),
    ]
    for var in bad:
        with pytest.raises(UsageError) as info:
            env.upsert_env([var])
        assert secret not in str(info.value)
    with pytest.raises(UsageError, match="twice"):
        env.upsert_env([EnvVar("A", "1"), EnvVar("A", "2")])
    assert env.list_env() == []


def test_overlapping_target_sets_conflict_like_vercel(tmp_path: Path) -> None:
    env = LocalEnv(tmp_path)
    env.upsert_env([EnvVar("API", "one", targets=("preview", "development"))])
    with pytest.raises(ProviderError, match="already exists"):
        env.upsert_env([EnvVar("API", "two", targets=("preview",)), EnvVar("OTHER", "x")])
    # all or nothing: OTHER was not written either
    assert [v.key for v in env.list_env()] == ["API"]


def test_a_corrupt_file_is_reported_without_its_content(tmp_path: Path) -> None:
    fake = "npg_" + "secret" * 2  # built at run time: no credential-shaped literal in the repo
    (tmp_path / "env.json").write_text('{"variables": [ ' + fake)
    with pytest.raises(ProviderError) as info:
        LocalEnv(tmp_path).list_env()
    assert fake not in str(info.value)


_WRITER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path
    from bbops.providers.base import EnvVar
    from bbops.providers.local.envstore import LocalEnv
    home, tag, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    env = LocalEnv(home)
    while not (home / "go").exists():  # start together, so the writes really interleave
        time.sleep(0.005)
    for i in range(n):
        env.upsert_env([EnvVar(f"K_{tag}_{i}", f"value-{tag}-{i}", targets=("preview",), git_branch=f"b{i % 3}")])
        if i % 5 == 4:
            env.delete_env([EnvVar(f"K_{tag}_{i}", "", targets=("preview",), git_branch=f"b{i % 3}")])
    """
)


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    # Without the flock this loses about half the writes (measured: 111 of 200 kept).
    n = 60
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), tag, str(n)]) for tag in ("a", "b")]
    time.sleep(0.8)  # both interpreters up and waiting
    (tmp_path / "go").touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    keys = {v.key for v in LocalEnv(tmp_path).list_env()}
    expected = {f"K_{tag}_{i}" for tag in ("a", "b") for i in range(n) if i % 5 != 4}
    assert keys == expected
    data = json.loads((tmp_path / "env.json").read_text())
    assert len(data["variables"]) == len(expected)
