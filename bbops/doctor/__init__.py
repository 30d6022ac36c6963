"""``bbops doctor``: a read-only health report of one Postgres database.

This package owns the checks (one module per group: statements, foreign keys
and indexes, tables and sizes, bloat and vacuum, limits, activity, probe
queries, parity, replication slots, security lints), the pure ``Finding`` model every check returns, the runner
that opens a read-only session with short ``statement_timeout`` and
``lock_timeout`` and runs them, the text/json/markdown reporters, and the
comparison of two reports (the findings a preview branch adds to its parent).

Nothing here writes to the database: a fix is only ever shown as SQL.
"""

from __future__ import annotations

from bbops.doctor.context import Limits
from bbops.doctor.finding import Finding, Severity
from bbops.doctor.report import Report, new_findings
from bbops.doctor.runner import run_doctor

__all__ = ["Finding", "Limits", "Report", "Severity", "new_findings", "run_doctor"]
