"""bbops.providers.base.env_type: a plan's or a record's type string as one of Vercel's three types."""

from __future__ import annotations

import pytest

from bbops.errors import UsageError
from bbops.providers.base import ENV_TYPES, env_type


@pytest.mark.parametrize("name", ENV_TYPES)
def test_known_types_pass(name: str) -> None:
    assert env_type(name) == name


def test_an_unknown_type_is_refused_by_name() -> None:
    expected = r"unknown env var type 'system'; expected one of: encrypted, sensitive, plain"
    with pytest.raises(UsageError, match=expected):
        env_type("system")
