"""A throwaway Postgres server for the benchmark: temporary folder, TCP port on 127.0.0.1.

Debian's ``pgcopydb`` and ``pg_dump`` are PostgreSQL 15 builds, so the
benchmark runs its own server of that major version (``/usr/lib/postgresql/15/bin``
by default). Postgres refuses to run as root, so when we are root the server
runs as the ``postgres`` system user via ``runuser``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# The same for every tool measured: a modest, common configuration.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "256MB",
    "max_wal_size": "4GB",
    "max_connections": "50",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, bindir: str, extra: dict[str, str] | None = None) -> None:
        self.bindir = Path(bindir)
        if not (self.bindir / "postgres").exists():
            raise SystemExit(f"no postgres in {bindir}: install postgresql-15 or pass --pg-bin")
        self.dir = Path(tempfile.mkdtemp(prefix="bbops-bench-"))
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        self.settings = {**SETTINGS, **(extra or {})}  # e.g. shared_preload_libraries for bench/doctor_time.py

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd="/")

    def start(self) -> str:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        opts = " ".join(f"-c {k}={v}" for k, v in self.settings.items()) + f" -p {self.port} -k {self.dir}"
        self._run("pg_ctl", "-D", str(data), "-l", str(self.dir / "log"), "-o", opts, "-w", "start")
        time.sleep(0.2)
        return self.url("postgres")

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
