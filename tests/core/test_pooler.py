"""Neon's pooler: copy and verify refuse a -pooler URL (exit 2, before connecting), migrate warns."""

from __future__ import annotations

import uuid

from click.testing import CliRunner

from bbops.cli import main
from bbops.core import pooler

PASSWORD = "pw-" + uuid.uuid4().hex[:12]  # made up at run time, never a literal credential
POOLED = f"postgresql://app:{PASSWORD}@ep-cool-fog-123456-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require"
DIRECT = POOLED.replace("-pooler", "")


def test_pooled_urls_are_recognised():
    assert pooler.is_pooled(POOLED) and not pooler.is_pooled(DIRECT)
    assert pooler.is_pooled("host=ep-x-1-pooler.aws.neon.tech dbname=neondb user=app")
    assert not pooler.is_pooled("host=/tmp dbname=x") and not pooler.is_pooled("not a url")
    assert pooler.warning(DIRECT, "x") is None and "direct (unpooled)" in (pooler.warning(POOLED, "x") or "")


def test_copy_and_verify_refuse_a_pooled_url_before_connecting():
    runner = CliRunner()
    for args in (["copy", "--data-only"], ["verify"]):
        result = runner.invoke(main, [*args, "--source", POOLED, "--target", DIRECT])
        assert result.exit_code == 2, result.output
        assert "connection pooler (-pooler)" in result.output and "--source" in result.output
        assert PASSWORD not in result.output
