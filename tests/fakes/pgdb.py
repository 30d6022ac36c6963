"""Real Postgres databases behind fake Neon branches.

The fake Neon API cannot run a Postgres per branch; this hook gives each
branch a database on the test server instead, created from its parent's
database as a template (so a branch starts with its parent's schema and data),
and re-made from the source on restore. ``connection_uri`` then answers with a
URL that really connects.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from bbops.core.pg import with_database


class PgBranchDatabases:
    def __init__(self, server_url: str, prefix: str = "nb") -> None:
        self.server_url = server_url
        self.prefix = prefix
        self.names: dict[str, str] = {}

    def dbname(self, branch_id: str) -> str:
        return f"{self.prefix}_{branch_id.replace('-', '_')}"

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

    def drop(self, branch_id: str) -> None:
        name = self.names.pop(branch_id, None)
        if name:
            self._run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def reset(self, branch_id: str, source_id: str) -> None:
        # A restore restarts the branch's compute, so every session on it is dropped
        # (neon-api-v2.yaml, finalizeRestoreBranch: "Reassigning any computes ... will restart the
        # computes"): DROP DATABASE ... WITH (FORCE) ends them here, advisory locks included.
        self.drop(branch_id)
        self.create(branch_id, source_id)

    def url(self, branch_id: str, database: str, role: str, pooled: bool) -> str:
        # Role and pooling are Neon concepts; the test server has one role and no pooler.
        return with_database(self.server_url, self.names[branch_id])

    def close(self) -> None:
        for branch_id in list(self.names):
            self.drop(branch_id)
