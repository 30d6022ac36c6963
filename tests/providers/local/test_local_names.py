"""Branch names and their database names (pure, no server)."""

from __future__ import annotations

import pytest

from bbops.errors import UsageError
from bbops.providers.local.names import database_name, validate_name, validate_namespace


def test_simple_names_map_readably() -> None:
    assert database_name("main") == "bb_main"
    assert database_name("development") == "bb_development"
    assert database_name("main", "t1") == "bbn_t1_main"
    assert database_name("t1_main") == "bb_t1_main"  # the default namespace's `t1_main` is another database


def test_lossy_names_get_a_hash_and_stay_distinct() -> None:
    names = ["preview/pr-42", "preview_pr_42", "preview-pr-42", "Main", "main", "a/b", "a_b", "a.b"]
    mapped = [database_name(n) for n in names]
    assert len(set(mapped)) == len(names)
    assert database_name("preview/pr-42").startswith("bb_preview_pr_42_")
    # deterministic
    assert database_name("preview/pr-42") == database_name("preview/pr-42")


def test_database_names_are_safe_and_short() -> None:
    for name in ["x" * 63, "é" * 63, "preview/" + "y" * 55, 'it\'s "odd"; DROP TABLE t;--']:
        db = database_name(name, "abcdefghijklmnop")
        assert len(db.encode()) <= 63
        assert db.replace("_", "").isalnum() and db.isascii() and db == db.lower()


@pytest.mark.parametrize("bad", ["", " main", "main ", "a\nb", "tab\there", "x" * 64, "\x00", None, 42])
def test_bad_names_are_usage_errors(bad) -> None:
    with pytest.raises(UsageError) as info:
        validate_name(bad)
    assert info.value.exit_code == 2


def test_namespace_rules() -> None:
    assert validate_namespace(None) == ""
    assert validate_namespace("ab12") == "ab12"
    for bad in ["AB", "a-b", "x" * 17]:
        with pytest.raises(UsageError):
            validate_namespace(bad)
