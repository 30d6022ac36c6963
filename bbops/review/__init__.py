"""Migration review: what each Drizzle migration will lock, and for how long.

Two halves that meet in the PR comment:

- **lint** (static): every statement of a migration is parsed with the real
  PostgreSQL parser (pglast, i.e. libpg_query) and checked against rules taken
  from squawk that apply to Drizzle-generated SQL: blocking index builds,
  constraints validated under a lock, table rewrites, drops and renames the
  running deployment still needs, missing timeouts. Each finding has a
  file:line, a rule id, why it hurts and the safe rewrite. Rules are silenced
  per file (``-- bbops:ignore rule-id reason``) or in the plan
  (``preview.lint.ignore``), always with a reason.
- **measure** (dynamic): when ``preview create`` applies a PR's migrations to
  a copy of the parent's data, a second session samples ``pg_locks`` and a
  probe session tries reads and writes on the touched tables with a short
  ``lock_timeout``; each statement gets its duration, the locks it took and how
  long reads and writes were blocked, next to the table's rows and size.

Modules: ``finding`` (the pure Finding model), ``source`` (parsing a migration
file), ``rules/`` (one module per rule family), ``lint`` (the runner over a
Drizzle folder), ``reporters`` (text, json, markdown, GitHub annotations),
``gate`` (``migrate up --lint``), ``measure`` and ``probe`` (the measured
review), ``timeline`` (the measured table, verdict and mermaid gantt).
"""

from __future__ import annotations
