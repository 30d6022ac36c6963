"""LocalBranches on a real Postgres (the session server), one namespace per test."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bbops.errors import LockTimeout, ProviderError, UsageError
from bbops.providers.base import BranchProvider, RestorePoints
from bbops.providers.local import dbops, open_local_backend
from bbops.providers.local.branches import LocalBranches
from bbops.providers.local.names import database_name


@pytest.fixture
def branches(pg_server_url: str, tmp_path: Path) -> Iterator[LocalBranches]:
    ns = uuid.uuid4().hex[:10]
    backend = open_local_backend(tmp_path / "home", url=pg_server_url, namespace=ns)
    provider = backend.branches
    assert isinstance(provider, LocalBranches)
    yield provider
    provider.purge()
    backend.close()


def _sql(provider: LocalBranches, name: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(provider.connection(name, database="app", role="app").url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _root_with_data(provider: LocalBranches, name: str = "main") -> None:
    provider.create_root(name, protected=True)
    _sql(
        provider,
        name,
        "CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL);"
        "INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, 50) g",
    )


def test_is_a_branch_provider_with_restore_points(branches: LocalBranches) -> None:
    assert isinstance(branches, BranchProvider) and isinstance(branches, RestorePoints)


def test_the_local_backend_declares_its_capabilities(tmp_path: Path, pg_server_url: str) -> None:
    backend = open_local_backend(tmp_path / "home", url=pg_server_url, namespace=uuid.uuid4().hex[:10])
    try:
        # Roots, protection, restore points and a lock database; no project settings, no timestamp restore.
        assert backend.roots is backend.branches and backend.protection is backend.branches
        assert backend.restore_points is backend.branches and backend.admin is backend.branches
        assert backend.infra is None and backend.timestamp_restore is None
        assert backend.deployments is not None
    finally:
        backend.close()


def test_create_copies_data_and_branches_are_independent(branches: LocalBranches) -> None:
    _root_with_data(branches)
    expires = datetime.now(UTC) + timedelta(days=7)
    child = branches.create_branch(
        "preview/pr-42", parent="main", annotations={"pr": "42", "git_branch": "feat/x"}, expires_at=expires
    )
    assert (child.name, child.parent, child.pr, child.annotations["git_branch"]) == (
        "preview/pr-42",
        "main",
        42,
        "feat/x",
    )
    assert child.expires_at == expires and child.size_bytes and child.size_bytes > 0
    assert _sql(branches, "preview/pr-42", "SELECT count(*) FROM users") == [(50,)]
    # the sequence came along too: the next id continues after the copied rows
    assert _sql(branches, "preview/pr-42", "INSERT INTO users (email) VALUES ('new@x.io') RETURNING id") == [(51,)]
    assert _sql(branches, "main", "SELECT count(*) FROM users") == [(50,)]
    assert [b.name for b in branches.list_branches()] == ["main", "preview/pr-42"]
    got = branches.get_branch("preview/pr-42")
    assert got is not None and got.id == child.id
    assert branches.get_branch("preview/pr-43") is None


def test_update_merges_annotations_and_refreshes_expiry(branches: LocalBranches) -> None:
    _root_with_data(branches)
    branches.create_branch("p1", parent="main", annotations={"pr": "1", "commit": "aaa"})
    later = datetime.now(UTC) + timedelta(days=3)
    updated = branches.update_branch("p1", expires_at=later, annotations={"commit": "bbb"})
    assert updated.annotations == {"pr": "1", "commit": "bbb"} and updated.expires_at == later
    with pytest.raises(ProviderError, match="30 days"):
        branches.update_branch("p1", expires_at=datetime.now(UTC) + timedelta(days=31))
    with pytest.raises(ProviderError, match="cannot expire"):
        branches.update_branch("main", expires_at=later)
    with pytest.raises(ProviderError, match="404"):
        branches.update_branch("nope", annotations={"a": "b"})


def test_delete_is_idempotent_and_drops_the_database(branches: LocalBranches) -> None:
    _root_with_data(branches)
    branches.create_branch("p2", parent="main")
    db = branches.database_of("p2")
    assert branches.delete_branch("p2") is True
    assert branches.delete_branch("p2") is False
    assert branches.get_branch("p2") is None
    with psycopg.connect(branches.admin_url()) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() is None


def test_protection_rules(branches: LocalBranches) -> None:
    _root_with_data(branches)
    branches.create_branch("dev", parent="main")
    branches.create_branch("feature", parent="dev")
    with pytest.raises(ProviderError, match="cannot be deleted"):
        branches.delete_branch("main")
    with pytest.raises(ProviderError, match="cannot be reset"):
        branches.reset_branch("main")
    with pytest.raises(ProviderError, match="child branches: feature"):
        branches.delete_branch("dev")
    with pytest.raises(ProviderError, match="409"):
        branches.create_branch("dev", parent="main")
    with pytest.raises(ProviderError, match="parent branch 'ghost' does not exist"):
        branches.create_branch("orphan", parent="ghost")
    assert branches.delete_branch("feature") and branches.delete_branch("dev")
    branches.create_branch("temp", parent="main", expires_at=datetime.now(UTC) + timedelta(days=1))
    kept = branches.set_protected("temp", True)
    assert kept.protected and kept.expires_at is None
    with pytest.raises(ProviderError, match="cannot be deleted"):
        branches.delete_branch("temp")
    assert not branches.set_protected("temp", False).protected
    assert branches.delete_branch("temp")


def test_reset_takes_the_parents_current_state_and_keeps_metadata(branches: LocalBranches) -> None:
    _root_with_data(branches)
    before = branches.create_branch("p3", parent="main", annotations={"pr": "3"})
    _sql(branches, "p3", "DELETE FROM users WHERE id <= 10")
    _sql(branches, "main", "INSERT INTO users (email) VALUES ('late@example.com')")
    held = psycopg.connect(branches.connection("p3", database="app", role="app").url)  # reset must not wait on it
    after = branches.reset_branch("p3")
    held.close()
    assert (after.id, after.annotations, after.created_at) == (before.id, before.annotations, before.created_at)
    assert _sql(branches, "p3", "SELECT count(*), max(email) FROM users WHERE email LIKE 'late%%' OR id <= 10") == [
        (11, "u9@example.com")
    ]
    assert branches.database_of("p3") == before_db(branches, "p3")


def before_db(branches: LocalBranches, name: str) -> str:
    return database_name(name, branches.namespace)


def test_idle_sessions_on_the_parent_do_not_block_a_copy(branches: LocalBranches) -> None:
    _root_with_data(branches)
    idle = psycopg.connect(branches.connection("main", database="app", role="app").url)
    idle.execute("SELECT 1")
    idle.commit()
    branches.create_branch("p4", parent="main")
    assert _sql(branches, "p4", "SELECT count(*) FROM users") == [(50,)]
    with pytest.raises(psycopg.OperationalError):
        idle.execute("SELECT 1")  # it was ended to free the template
    idle.close()


def test_an_active_session_on_the_source_is_named_not_killed(branches: LocalBranches, pg_server_url: str) -> None:
    _root_with_data(branches)
    source = branches.database_of("main")
    busy = psycopg.connect(branches.connection("main", database="app", role="app").url, autocommit=True)
    outcome: list[str] = []

    def work() -> None:
        try:
            busy.execute("SELECT pg_sleep(3)")
            outcome.append("finished")
        except psycopg.Error as exc:
            outcome.append(f"killed: {exc}")

    worker = threading.Thread(target=work)
    worker.start()
    try:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            for _ in range(50):  # wait until the sleep is running
                if admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND state = 'active'", (source,)
                ).fetchone():
                    break
                threading.Event().wait(0.05)
            target = f"bbtest_{uuid.uuid4().hex[:8]}"
            with pytest.raises(ProviderError, match=r"other sessions are using it \(pid \d+"):
                dbops.copy_database(admin, source, target, wait=0.5)
            assert worker.is_alive()  # the busy session was left alone
            # given time, the copy waits for the busy session to finish instead
            dbops.copy_database(admin, source, target, wait=20)
            worker.join()
            assert outcome == ["finished"]
            dbops.drop_database(admin, target)
    finally:
        worker.join()
        busy.close()


def test_odd_names_are_quoted_and_bad_names_refused(branches: LocalBranches) -> None:
    _root_with_data(branches)
    odd = 'it\'s "odd"; DROP TABLE users;--'
    branches.create_branch(odd, parent="main")
    branches.create_branch("Main", parent="main")
    assert _sql(branches, odd, "SELECT count(*) FROM users") == [(50,)]
    assert {b.name for b in branches.list_branches()} == {"main", "Main", odd}
    assert _sql(branches, "main", "SELECT count(*) FROM users") == [(50,)]
    for bad in ["", " x", "a\nb", "y" * 64]:
        with pytest.raises(UsageError):
            branches.create_branch(bad, parent="main")
        with pytest.raises(UsageError):
            branches.get_branch(bad)


def test_connection_pooled_and_direct(branches: LocalBranches) -> None:
    _root_with_data(branches)
    pooled = branches.connection("main", database="app", role="app", pooled=True)
    direct = branches.connection("main", database="app", role="app", pooled=False)
    assert (pooled.pooled, direct.pooled) == (True, False)
    assert pooled is not direct and pooled.url == direct.url
    assert pooled.database == branches.database_of("main")
    assert "(pooled)" in str(pooled) and pooled.url not in repr(pooled)
    with pytest.raises(ProviderError, match="404"):
        branches.connection("missing", database="app", role="app")


def test_leftovers_of_an_interrupted_create_are_replaced(branches: LocalBranches) -> None:
    _root_with_data(branches)
    leftover = database_name("p5", branches.namespace)
    with psycopg.connect(branches.admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(leftover)))
    branches.create_branch("p5", parent="main")
    assert _sql(branches, "p5", "SELECT count(*) FROM users") == [(50,)]
    with psycopg.connect(branches.admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database_name("p6", branches.namespace))))
    assert branches.delete_branch("p6") is True  # no catalog row, but the database went
    assert branches.delete_branch("p6") is False


def test_two_creates_of_one_name_end_with_one_branch(
    branches: LocalBranches, pg_server_url: str, tmp_path: Path
) -> None:
    _root_with_data(branches)
    results: list[object] = []

    def create() -> None:
        other = open_local_backend(tmp_path / "home", url=pg_server_url, namespace=branches.namespace)
        try:
            results.append(other.branches.create_branch("preview/pr-7", parent="main"))
        except ProviderError as exc:
            results.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [r for r in results if isinstance(r, ProviderError)]
    assert len(results) == 2 and len(errors) == 1 and "409" in str(errors[0])
    assert [b.name for b in branches.list_branches()].count("preview/pr-7") == 1


def test_a_held_branch_lock_times_out_clearly(branches: LocalBranches, pg_server_url: str, tmp_path: Path) -> None:
    _root_with_data(branches)
    branches.create_branch("p8", parent="main")
    impatient = open_local_backend(tmp_path / "home", url=pg_server_url, namespace=branches.namespace, lock_timeout=0.2)
    try:
        with branches._locked(["p8"]):
            with pytest.raises(LockTimeout, match="'p8'"):
                impatient.branches.update_branch("p8", annotations={"x": "y"})
        assert impatient.branches.update_branch("p8", annotations={"x": "y"}).annotations["x"] == "y"
    finally:
        impatient.close()


def test_snapshot_and_restore_keep_the_replaced_state(branches: LocalBranches) -> None:
    _root_with_data(branches)
    snap = branches.snapshot("main", "restore/before-cutover")
    assert snap.parent == "main" and snap.annotations["snapshot_of"] == "main"
    _sql(branches, "main", "DELETE FROM users WHERE id > 5")
    restored = branches.restore("main", "restore/before-cutover", preserve_under_name="restore/rolled-back")
    assert restored.name == "main" and restored.protected
    assert _sql(branches, "main", "SELECT count(*) FROM users") == [(50,)]
    assert _sql(branches, "restore/rolled-back", "SELECT count(*) FROM users") == [(5,)]
    assert [b.name for b in branches.list_branches()] == ["main"]
    assert {s.name for s in branches.list_snapshots()} == {"restore/before-cutover", "restore/rolled-back"}
    assert branches.get_branch("restore/before-cutover") is None
    assert branches.get_snapshot("restore/rolled-back").annotations["preserved_from"] == "main"
    # the restore point stays usable: restore again, this time without keeping the state
    _sql(branches, "main", "DELETE FROM users")
    branches.restore("main", "restore/before-cutover")
    assert _sql(branches, "main", "SELECT count(*) FROM users") == [(50,)]
    with pytest.raises(ProviderError, match="409"):
        branches.snapshot("main", "restore/rolled-back")
    with pytest.raises(ProviderError, match="new name"):
        branches.restore("main", "restore/before-cutover", preserve_under_name="main")
    assert branches.delete_branch("restore/rolled-back") is True


def test_unfinished_transactions_on_the_source_are_waited_for_not_aborted(
    branches: LocalBranches, pg_server_url: str
) -> None:
    _root_with_data(branches)
    source = branches.database_of("main")
    writer = psycopg.connect(branches.connection("main", database="app", role="app").url)
    writer.execute("INSERT INTO users (email) VALUES ('mid@example.com')")  # transaction left open
    target = f"bbtest_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            with pytest.raises(ProviderError, match="idle in transaction"):
                dbops.copy_database(admin, source, target, wait=0.3)
            writer.commit()  # the work survived and can finish
            dbops.copy_database(admin, source, target, wait=5)
            dbops.drop_database(admin, target)
    finally:
        writer.close()
    assert _sql(branches, "main", "SELECT count(*) FROM users WHERE email = 'mid@example.com'") == [(1,)]


def test_a_failed_swap_puts_the_old_state_back(branches: LocalBranches, monkeypatch: pytest.MonkeyPatch) -> None:
    _root_with_data(branches)
    branches.create_branch("p9", parent="main")
    _sql(branches, "p9", "DELETE FROM users WHERE id > 3")
    branches.snapshot("main", "rp")
    real_rename = dbops.rename_database
    calls: list[tuple[str, str]] = []

    def flaky_rename(conn, old, new, **kw):
        calls.append((old, new))
        if len(calls) == 2:  # the new copy moving in
            raise ProviderError("injected failure")
        return real_rename(conn, old, new, **kw)

    monkeypatch.setattr(dbops, "rename_database", flaky_rename)
    with pytest.raises(ProviderError, match="injected"):
        branches.restore("p9", "rp", preserve_under_name="p9-before")
    monkeypatch.setattr(dbops, "rename_database", real_rename)
    assert _sql(branches, "p9", "SELECT count(*) FROM users") == [(3,)]
    assert branches.get_snapshot("p9-before") is None
    incoming, outgoing = branches._scratch_names("p9")
    with psycopg.connect(branches.admin_url()) as conn:
        assert (
            dbops.existing_databases(conn, [incoming, outgoing, database_name("p9-before", branches.namespace)])
            == set()
        )
    # and the same restore then works
    branches.restore("p9", "rp", preserve_under_name="p9-before")
    assert _sql(branches, "p9", "SELECT count(*) FROM users") == [(50,)]
    assert _sql(branches, "p9-before", "SELECT count(*) FROM users") == [(3,)]


@pytest.mark.parametrize("left", ["incoming", "outgoing"])
def test_a_swap_cut_short_by_a_crash_is_finished_next_time(branches: LocalBranches, left: str) -> None:
    _root_with_data(branches)
    branches.create_branch("p10", parent="main")
    db = branches.database_of("p10")
    incoming, outgoing = branches._scratch_names("p10")
    conn = branches._catalog().conn
    # the state a killed process leaves: the branch's database moved away
    dbops.rename_database(conn, db, incoming if left == "incoming" else outgoing)
    branches._recover(conn, db, incoming, outgoing)
    assert dbops.existing_databases(conn, [db, incoming, outgoing]) == {db}
    assert _sql(branches, "p10", "SELECT count(*) FROM users") == [(50,)]
    assert branches.reset_branch("p10").name == "p10"


def test_namespaced_and_default_branches_never_share_a_database(pg_server_url: str, tmp_path: Path) -> None:
    """Namespace `<ns>` branch `main` and default-namespace branch `<ns>_main` once mapped to one database,
    and creating the second dropped the first."""
    ns = "t" + uuid.uuid4().hex[:8]
    spaced = open_local_backend(tmp_path / "a", url=pg_server_url, namespace=ns)
    plain = open_local_backend(tmp_path / "b", url=pg_server_url, namespace="")
    try:
        _root_with_data(spaced.branches, "main")
        twin = f"{ns}_main"
        plain.branches.create_root(twin, protected=False, default=False)
        try:
            assert spaced.branches.database_of("main") != plain.branches.database_of(twin)
            assert _sql(spaced.branches, "main", "SELECT count(*) FROM users") == [(50,)]
        finally:
            plain.branches.delete_branch(twin)
        assert _sql(spaced.branches, "main", "SELECT count(*) FROM users") == [(50,)]
    finally:
        spaced.branches.purge()
        spaced.close()
        plain.close()


def test_database_names_are_unique_per_catalog_row_checked_before_any_drop(branches: LocalBranches) -> None:
    # `a/b` maps to `..._a_b_<hash>`; the plain name `a_b_<hash>` maps to the same database.
    _root_with_data(branches, "a/b")
    taken = branches.database_of("a/b")
    crafted = "a_b_" + taken.rsplit("_", 1)[1]
    assert database_name(crafted, branches.namespace) == taken
    for attempt in (
        lambda: branches.create_branch(crafted, parent="a/b"),
        lambda: branches.snapshot("a/b", crafted),
    ):
        with pytest.raises(ProviderError, match="already holds branch 'a/b'") as info:
            attempt()
        assert info.value.exit_code == 4
    assert branches.delete_branch(crafted) is False
    assert _sql(branches, "a/b", "SELECT count(*) FROM users") == [(50,)]
