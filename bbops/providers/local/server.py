"""The local Postgres server: an embedded one started on demand, or an existing one.

Embedded: ``pgserver`` (a Postgres 16 build shipped on PyPI) runs from
``<home>/pgdata`` and listens only on a Unix socket. It is started with
``cleanup_mode=None`` so it keeps running after the CLI exits, and every later
bbops process reuses it. How pgserver tracks its server: the ``postmaster.pid``
file in the data folder (pid, socket folder, port, status line ``ready``).
Reusing is therefore cheap: read that file, check the process, connect; no
pgserver import on the warm path. Starting twice at once is serialised by an
flock on ``<home>/server.lock`` (pgserver also takes a global lock, but only
around its own steps; ours also covers the check-then-start gap).

External: ``BBOPS_LOCAL_DATABASE_URL`` names a server bbops never starts or stops.
"""

from __future__ import annotations

import os
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bbops.core import redact
from bbops.errors import ProviderError, UsageError
from bbops.providers.local.state import ensure_home, file_lock, redacted, state_home

ENV_URL = "BBOPS_LOCAL_DATABASE_URL"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class ServerStatus:
    """What ``bbops local status`` shows about the server."""

    kind: str  # "embedded" | "external"
    running: bool
    url: str | None  # redacted, safe to print
    data_dir: Path | None
    pid: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "running": self.running,
            "url": self.url,
            "data_dir": str(self.data_dir) if self.data_dir else None,
            "pid": self.pid,
        }


@dataclass(frozen=True)
class _Postmaster:
    pid: int
    socket_dir: str
    port: int
    status: str


def _read_postmaster(data_dir: Path) -> _Postmaster | None:
    """Parse ``postmaster.pid``; None when absent, unreadable or incomplete (a server mid-start)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 8:
        return None
    try:
        return _Postmaster(int(lines[0]), lines[4].strip(), int(lines[3]), lines[7].strip())
    except ValueError:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers signal 0, and after a crash the pid may belong to
    # another program by now: only a live postgres process counts.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return True  # no /proc (macOS): signal 0 is all we can ask
    name, _, rest = stat.partition("(")[2].rpartition(")")
    return rest.split()[0] != "Z" and name.startswith("postgres")


class LocalServer:
    """One local server; ``url`` (an external server) wins over the embedded one."""

    def __init__(self, home: Path | None = None, url: str | None = None) -> None:
        self.home = home or state_home()
        self.external_url = url if url is not None else os.environ.get(ENV_URL) or None
        if self.external_url:
            redact.register_url(self.external_url)

    @property
    def embedded(self) -> bool:
        return not self.external_url

    @property
    def data_dir(self) -> Path:
        return self.home / "pgdata"

    def _embedded_url(self, pm: _Postmaster, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={pm.socket_dir}&port={pm.port}"

    def _running_postmaster(self) -> _Postmaster | None:
        pm = _read_postmaster(self.data_dir)
        if pm and pm.status == "ready" and pm.socket_dir and _alive(pm.pid):
            return pm
        return None

    # -- status ---------------------------------------------------------------------------

    def status(self) -> ServerStatus:
        """Describe the server without starting it."""
        if self.external_url:
            return ServerStatus("external", _answers(self.external_url), redacted(self.external_url), None)
        pm = self._running_postmaster()
        url = self._embedded_url(pm) if pm else None
        running = bool(pm) and _answers(url)
        return ServerStatus("embedded", running, url, self.data_dir, pm.pid if pm else None)

    # -- start / stop ---------------------------------------------------------------------

    def ensure_running(self) -> str:
        """The admin URL (maintenance database) of a running server, starting the embedded one if needed."""
        if self.external_url:
            return self.external_url
        pm = self._running_postmaster()
        if pm:  # the warm path: no lock, no pgserver import
            return self._embedded_url(pm)
        ensure_home(self.home)
        with file_lock(self.home / "server.lock"):
            pm = self._running_postmaster()
            if pm:  # someone else started it while we waited
                return self._embedded_url(pm)
            self._start()
            pm = self._running_postmaster()
        if not pm:
            raise ProviderError(
                f"the embedded Postgres in {self.data_dir} did not start",
                hint=f"see {self.data_dir / 'log'}",
            )
        return self._embedded_url(pm)

    def _start(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            try:
                from pgserver.postgres_server import PostgresServer
            except ImportError:
                raise UsageError(
                    "the embedded backend needs the 'pgserver' package",
                    hint=f"pip install pgserver, or set {ENV_URL} to an existing server",
                ) from None
            try:
                # cleanup_mode=None: the server outlives this process; `bbops local stop` ends it.
                # The class, not get_server(): get_server caches one handle per folder per
                # process and would hand back a stale one after a stop in this process.
                self.data_dir.mkdir(parents=True, exist_ok=True)
                PostgresServer(self.data_dir.resolve(), cleanup_mode=None)
            except Exception as exc:
                raise ProviderError(
                    f"cannot start the embedded Postgres in {self.data_dir}: {type(exc).__name__}",
                    hint=f"see {self.data_dir / 'log'}",
                ) from None

    def stop(self, *, timeout: float = 30.0) -> bool:
        """Stop the embedded server; False when there was nothing to stop (external or not running)."""
        if self.external_url or not self.data_dir.exists():
            return False
        with file_lock(self.home / "server.lock"):
            pm = self._running_postmaster() or _read_postmaster(self.data_dir)
            if not pm or not _alive(pm.pid):
                return False
            # SIGINT is Postgres' "fast" shutdown: what `pg_ctl stop` sends, without
            # pg_ctl's refusal to run as root. It removes postmaster.pid when done.
            try:
                os.kill(pm.pid, signal.SIGINT)
            except ProcessLookupError:
                return False
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not _alive(pm.pid) or not (self.data_dir / "postmaster.pid").exists():
                    return True
                time.sleep(0.05)
        raise ProviderError(f"the embedded Postgres (pid {pm.pid}) did not stop within {timeout:.0f} s")


def _answers(url: str | None) -> bool:
    if not url:
        return False
    try:
        with psycopg.connect(url, connect_timeout=3, application_name="bbops status"):
            return True
    except psycopg.Error:
        return False
