"""Real Postgres databases behind fake Neon branches.

The fake Neon API cannot run a Postgres per branch; this hook gives each
branch a database on the test server instead, created from its parent's
database as a template (so a branch starts with its parent's schema and data),
and re-made from the source on restore. ``connection_uri`` then answers with a
URL that really connects.

Neon keeps a password per role per branch; the test server has one cluster of
roles. So each branch gets a login role of its own (named like its database)
holding that branch's password, and its URL carries that role and password. The
roles are members of ``PASSWORD_GROUP``, which ``HBA_LINES`` (put first in the
embedded test server's ``pg_hba.conf`` by ``tests/conftest.py``) make
authenticate by password (scram-sha-256) while every other role keeps ``trust``:
after a password reset, the old password is refused with the server's own
authentication error. The roles are superusers, so every test that used the
server's own role before still may do all it did (Neon's ``neondb_owner`` is
not one; what these roles model is the password, not the privileges).
"""

from __future__ import annotations

import contextlib
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from bbops.core.pg import with_database

PASSWORD_GROUP = "bbops_fake_neon_roles"
HBA_LINES = "".join(
    f"{line}\n"
    for line in (
        f"local all +{PASSWORD_GROUP} scram-sha-256",
        f"host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256",
        f"host all +{PASSWORD_GROUP} ::1/128 scram-sha-256",
    )
)


class PgBranchDatabases:
    def __init__(self, server_url: str, prefix: str = "nb") -> None:
        self.server_url = server_url
        self.prefix = prefix
        self.names: dict[str, str] = {}
        self.roles: set[str] = set()
        self.passwords: dict[str, str] = {}  # branch id -> the password its role has on the server

    def dbname(self, branch_id: str) -> str:
        return f"{self.prefix}_{branch_id.replace('-', '_')}"

    def role(self, branch_id: str) -> str:
        """The branch's own login role on the test server (the fake keeps one role per branch)."""
        return self.dbname(branch_id)

    def _run(self, statement: sql.Composable, *, free: str | None = None) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            if free:
                # CREATE DATABASE ... TEMPLATE refuses while anyone else is connected to the template.
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (free,),
                )
            conn.execute(statement)

    def create(self, branch_id: str, parent_id: str | None) -> None:
        name = self.dbname(branch_id)
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        template = self.names.get(parent_id or "")
        if template:
            stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self._run(stmt, free=template)
        self.names[branch_id] = name

    def set_password(self, branch_id: str, password: str) -> None:
        """The branch's role gets ``password`` (made on first use); the branch's sessions are ended.

        Neon drops the compute's connections on a password reset (neon-api-v2.yaml,
        resetProjectBranchRolePassword: "Connections to the compute endpoint are dropped").
        """
        role = self.role(branch_id)
        self.passwords[branch_id] = password
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            if role not in self.roles:
                conn.execute(
                    "DO $$ BEGIN CREATE ROLE " + PASSWORD_GROUP + " NOLOGIN; "
                    "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
                )
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN SUPERUSER IN ROLE {} PASSWORD {}").format(
                        sql.Identifier(role), sql.Identifier(PASSWORD_GROUP), sql.Literal(password)
                    )
                )
                self.roles.add(role)
                return
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
            name = self.names.get(branch_id)
            if name:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )

    def drop(self, branch_id: str) -> None:
        name = self.names.pop(branch_id, None)
        if name:
            self._run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def reset(self, branch_id: str, source_id: str) -> None:
        # A restore restarts the branch's compute, so every session on it is dropped
        # (neon-api-v2.yaml, finalizeRestoreBranch: "Reassigning any computes ... will restart the
        # computes"): DROP DATABASE ... WITH (FORCE) ends them here, advisory locks included.
        # The branch's role and password stay as they are.
        self.drop(branch_id)
        self.create(branch_id, source_id)

    def url(self, branch_id: str, database: str, role: str, pooled: bool, password: str | None = None) -> str:
        """The branch's database as its own role with ``password`` (default: the one the server has now);
        the server has no pooler. For a branch whose role was never made: as the server's own role."""
        url = with_database(self.server_url, self.names[branch_id])
        password = password or self.passwords.get(branch_id)
        if password is None or self.role(branch_id) not in self.roles:
            return url
        if not url.startswith(("postgres://", "postgresql://")):  # a key=value server string
            return make_conninfo(url, user=self.role(branch_id), password=password)
        parts = urlsplit(url)
        hosts = parts.netloc.rpartition("@")[2]
        user = quote(self.role(branch_id), safe="")
        return parts._replace(netloc=f"{user}:{quote(password, safe='')}@{hosts}").geturl()

    def passwords_enforced(self) -> bool:
        """Whether the server refuses a wrong password for the branches' roles (the embedded one does;
        a server given in BBOPS_TEST_DATABASE_URL may trust everyone)."""
        branch_id = next((b for b in self.names if self.role(b) in self.roles), None)
        if branch_id is None:
            return False
        try:
            psycopg.connect(self.url(branch_id, "", "", False, "not-the-password"), connect_timeout=5).close()
        except psycopg.OperationalError:
            return True
        return False

    def close(self) -> None:
        for branch_id in list(self.names):
            self.drop(branch_id)
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            for role in sorted(self.roles):
                with contextlib.suppress(psycopg.Error):  # a role that still owns something elsewhere stays
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        self.roles.clear()
