"""The suite-wide secret leak check itself can fail (see tests/leakcheck.py)."""

from click.testing import CliRunner

from bbops.cli import main
from tests import leakcheck


def test_detector_finds_a_planted_secret_and_ignores_clean_text():
    secret = "npg_" + "c0ffee" * 3
    assert leakcheck.leaks([("x", f"url postgresql://u:{secret}@h/db")], {secret}) == [
        f"x: holds a fake secret ending in ...{secret[-4:]}"
    ]
    masked = "postgresql://u:" + "***" + "@h/db"
    assert leakcheck.leaks([("x", masked)], {secret}) == []


def test_cli_invocations_are_recorded():
    before = len(leakcheck.RECORDED)
    CliRunner().invoke(main, ["--version"])
    assert len(leakcheck.RECORDED) > before
    assert any("bbops, version" in text for _, text in leakcheck.RECORDED[before:])


def test_the_suite_has_fake_secrets_to_look_for(cloud_fakes_pg):
    # Any fake Neon/Vercel server registers its token; branches register their passwords.
    assert leakcheck.FAKE_SECRETS
