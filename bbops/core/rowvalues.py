"""Keeping row values out of the Postgres error details bbops prints and records.

A server error's primary message says what went wrong; its ``DETAIL`` often
quotes the data (``Key (email)=(jane@example.com) already exists.``, ``Failing
row contains (...)``) and a COPY's ``CONTEXT`` quotes the offending field. Those
values are personal data from production, and error texts end up in logs, the
step history, job summaries and PR comments. So the values go, the shape stays:
``Key (email)=(…) already exists.`` still tells which key clashed.
"""

from __future__ import annotations

import re

HIDDEN = "(…)"

# "Key (cols)=(values) <what>": the columns and Postgres' own phrasing of <what> are kept (with the table name).
_KEY = re.compile(r"^Key \((?P<cols>[^)]*)\)=")
_KEY_TAIL = re.compile(
    r'(?P<tail>already exists\.|is duplicated\.|is (?:not present in|still referenced from) table "[^"]*"\.)$'
)
_FAILING_ROW = re.compile(r"^Failing row contains \(")
# COPY t, line 3, column email: "value"   /   COPY t, line 3: "raw line"
_COPY_CONTEXT = re.compile(r"^(?P<head>COPY [^,]+, line \d+(?:, column [^:]+)?): .*$")
_LINE = re.compile(r"^(?P<label>\s*(?:DETAIL|CONTEXT):\s*)(?P<text>.*)$")


def without_values(detail: str) -> str:
    """A server DETAIL or CONTEXT text with the row values it quotes taken out."""
    text = detail.strip()
    key = _KEY.match(text)
    if key:
        tail = _KEY_TAIL.search(text)
        # An exclusion constraint's "conflicts with existing key (c)=(v)" quotes a second row.
        what = tail.group("tail") if tail else ("conflicts with an existing key." if "conflicts with" in text else "")
        return f"Key ({key.group('cols')})={HIDDEN} {what}".rstrip()
    if _FAILING_ROW.match(text):
        return f"Failing row contains {HIDDEN}."
    copy = _COPY_CONTEXT.match(text)
    if copy:
        return copy.group("head")
    return detail


def strip_row_values(message: str) -> str:
    """``message`` with every ``DETAIL:``/``CONTEXT:`` line (libpq's layout) freed of row values."""
    if "DETAIL:" not in message and "CONTEXT:" not in message:
        return message
    lines = []
    for line in message.split("\n"):
        m = _LINE.match(line)
        lines.append(f"{m.group('label')}{without_values(m.group('text'))}" if m else line)
    return "\n".join(lines)
