"""pytest fixtures: a ``cloud`` backend wired to the stateful Neon and Vercel fakes.

Registered from ``tests/conftest.py`` (``pytest_plugins``). ``fakes.transports``
is the HTTP seam to hand over: ``open_backend("cloud", plan, fakes.transports)``,
or to a CLI command as click's context object
(``CliRunner().invoke(main, args, obj=fakes.transports)``); then it talks to the
same fakes, and no retry ever sleeps (waits are recorded in ``fakes.sleeps``).

``cloud_fakes_pg`` / ``cloud_backend_pg``: the same, but each Neon branch is a real
database on the test Postgres (made from its parent's), so previews can really
migrate and seed on the "cloud" backend.
"""

from __future__ import annotations

import secrets as pysecrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from bbops.core.http import Transports
from bbops.providers.base import Backend
from bbops.providers.cloud import open_cloud_backend
from tests import leakcheck
from tests.fakes.base import FakeClock
from tests.fakes.neon import FakeNeon
from tests.fakes.pgdb import PgBranchDatabases
from tests.fakes.vercel import FakeVercel

NEON_HOST = "https://neon.test/api/v2"
VERCEL_HOST = "https://vercel.test"


@dataclass
class CloudFakes:
    neon: FakeNeon
    vercel: FakeVercel
    env: dict[str, str]
    clock: FakeClock
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        """A client's wait: recorded, and the fakes' clock moves on as far (builds progress meanwhile)."""
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    @property
    def tokens(self) -> list[str]:
        return [self.neon.token, self.vercel.token]

    @property
    def transports(self) -> Transports:
        """Neon and Vercel HTTP to these fakes, sleeps recorded instead of slept."""
        return Transports(neon=self.neon.transport(), vercel=self.vercel.transport(), sleep=self.sleep)


def make_fakes(databases: PgBranchDatabases | None = None) -> CloudFakes:
    """Fakes of a BB-PRODX-like project: branches main (default, protected) and development."""
    clock = FakeClock()
    neon = FakeNeon("napi_" + pysecrets.token_hex(16), databases=databases)
    neon.add_branch("main", default=True, protected=True)
    neon.add_branch("development", parent="main")
    vercel = FakeVercel("vcp_" + pysecrets.token_hex(12), team_id="team_" + "b" * 16, clock=clock)
    vercel.add_deployment(target="production", branch="main")
    env = {
        "NEON_API_KEY": neon.token,
        "NEON_PROJECT_ID": neon.project_id,
        "NEON_API_HOST": NEON_HOST,
        "VERCEL_TOKEN": vercel.token,
        "VERCEL_TEAM_ID": vercel.team_id or "",
        "VERCEL_PROJECT_ID": "bb-prodx",
        "VERCEL_API_HOST": VERCEL_HOST,
        # The preview environment's scrub key (bbops.preview.scrubkey); previews never see it.
        "BBOPS_SCRUB_KEY": leakcheck.remember("scrub-" + pysecrets.token_hex(16)),
    }
    return CloudFakes(neon, vercel, env, clock)


def _wired(fakes: CloudFakes, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudFakes]:
    for key, value in fakes.env.items():
        monkeypatch.setenv(key, value)
    yield fakes


@pytest.fixture
def cloud_fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudFakes]:
    yield from _wired(make_fakes(), monkeypatch)


@pytest.fixture
def cloud_backend(cloud_fakes: CloudFakes) -> Iterator[Backend]:
    backend = open_cloud_backend(None, transports=cloud_fakes.transports)
    yield backend
    backend.close()


@pytest.fixture
def cloud_fakes_pg(monkeypatch: pytest.MonkeyPatch, pg_server_url: str) -> Iterator[CloudFakes]:
    databases = PgBranchDatabases(pg_server_url, prefix="nb" + pysecrets.token_hex(3))
    try:
        yield from _wired(make_fakes(databases), monkeypatch)
    finally:
        databases.close()


@pytest.fixture
def cloud_backend_pg(cloud_fakes_pg: CloudFakes) -> Iterator[Backend]:
    backend = open_cloud_backend(None, transports=cloud_fakes_pg.transports)
    yield backend
    backend.close()
