"""The rules, one module per family; ``RULES`` is the registry in the order the docs list them."""

from __future__ import annotations

from bbops.review.rules import breaking, columns, constraints, idempotency, indexes, timeouts, types
from bbops.review.rules.base import Context, Hit, Rule

RULES: tuple[Rule, ...] = (
    *indexes.RULES,
    *constraints.RULES,
    *columns.RULES,
    *breaking.RULES,
    *types.RULES,
    *timeouts.RULES,
    *idempotency.RULES,
)
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}

# Findings about the file itself rather than a statement.
SYNTAX_ERROR = "syntax-error"
BAD_IGNORE = "invalid-ignore"

__all__ = ["BAD_IGNORE", "BY_ID", "RULES", "SYNTAX_ERROR", "Context", "Hit", "Rule"]
