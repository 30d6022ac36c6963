"""Reading a plan file into plain data while remembering where every value stood.

PyYAML's composer gives nodes with line/column marks; we build the data from the
nodes ourselves so that every JSON path maps to its position, duplicate keys are
an error (PyYAML would silently keep the last one), and alias bombs are stopped
by a budget on the number of values built rather than by running out of memory.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bbops.errors import Problem

MAX_BYTES = 1_000_000
MAX_NODES = 100_000
# A file with thousands of mistakes (or of duplicate keys) is reported by its first ones.
MAX_PROBLEMS = 100

PathKey = tuple[str | int, ...]


@dataclass
class Loaded:
    """A plan file's data, and the (line, column) of every value, 1-based."""

    file: str
    data: Any
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: PathKey) -> tuple[int, int]:
        """The position of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def problem(self, path: PathKey, message: str) -> Problem:
        line, col = self.where(path)
        return Problem(self.file, line, col, dotted(path), message)


def dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{shown_key(part)}" if out else shown_key(part))
    return out


# No plan field name is longer; a longer key is someone else's text (a file's lines, a secret) and not repeated.
MAX_SHOWN_KEY = 40


def shown_key(key: str) -> str:
    """A mapping key as problems may print it: as written when short and printable, else only its length."""
    if len(key) <= MAX_SHOWN_KEY and key.isprintable():
        return key
    return f"<a {len(key)}-character key>"


class _Budget(Exception):
    pass


class _TooMany(Exception):
    pass


def _report(problems: list[Problem], problem: Problem) -> None:
    problems.append(problem)
    if len(problems) >= MAX_PROBLEMS:
        raise _TooMany


def load_file(path: Path, display: str | None = None) -> tuple[Loaded | None, list[Problem]]:
    """Load ``path``; on failure return ``(None, problems)`` instead of raising."""
    name = display or str(path)

    def fail(message: str, line: int = 1, col: int = 1) -> tuple[None, list[Problem]]:
        return None, [Problem(name, line, col, "", message)]

    if path.is_dir():
        return fail("is a directory, not a plan file")
    try:
        raw = _read_regular(path)
    except _Refused as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"cannot read: {exc.strerror or exc}")
    return load_text(raw, name)


class _Refused(Exception):
    pass


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file, at most ``MAX_BYTES + 1`` of them.

    A device (``/dev/zero``) or a named pipe is refused before it is opened (reading one
    would never end, or block), and so is a symbolic link that leaves the repository (a
    plan linked to ``/etc/shadow`` must not be echoed back as YAML problems).
    """
    if path.is_symlink() and not path.resolve().is_relative_to(_repository(path).resolve()):
        raise _Refused("is a symbolic link to a file outside the repository; plans are read from the repository")
    if not stat.S_ISREG(path.stat().st_mode):
        raise _Refused("not a regular file; a plan is a YAML text file")
    # O_NONBLOCK: should the file be swapped for a pipe after the check, opening it does not block.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise _Refused("not a regular file; a plan is a YAML text file")
        raw = fh.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise _Refused(f"file is over {MAX_BYTES} bytes; plans are limited to {MAX_BYTES} bytes")
    return raw


def _repository(path: Path) -> Path:
    """The git work tree holding ``path`` (where the link itself lies), else the link's own folder."""
    folder = path.absolute().parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


# libyaml composes nodes by C recursion: a hostile file nested deeper than the C stack would crash
# the process instead of raising. Below this bound (which the nesting can never exceed, see
# ``_depth_bound``) the C parser is used, some twenty times faster on a large file; above it the
# pure-Python one, whose RecursionError is reported as "nesting is too deep".
_C_DEPTH_LIMIT = 2_000


def _depth_bound(text: str) -> int:
    """An upper bound of the file's nesting depth: every flow bracket in the file, plus the most
    block levels one line can open (its indentation, and each ``-``, ``:`` and ``?`` on it)."""
    brackets = text.count("[") + text.count("{")
    if brackets > _C_DEPTH_LIMIT:
        return brackets
    deepest = 0
    for line in text.splitlines():
        opened = len(line) - len(line.lstrip(" ")) + line.count("-") + line.count(":") + line.count("?")
        deepest = max(deepest, opened)
    return brackets + deepest


def _loader_for(text: str) -> type[yaml.SafeLoader] | type[yaml.CSafeLoader]:
    if yaml.__with_libyaml__ and _depth_bound(text) <= _C_DEPTH_LIMIT:
        return yaml.CSafeLoader
    return yaml.SafeLoader


def load_text(raw: bytes | str, name: str) -> tuple[Loaded | None, list[Problem]]:
    def fail(message: str, line: int = 1, col: int = 1) -> tuple[None, list[Problem]]:
        return None, [Problem(name, line, col, "", message)]

    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            return fail(f"file is {len(raw)} bytes; plans are limited to {MAX_BYTES} bytes")
        if b"\x00" in raw:
            return fail("binary data: a plan is a UTF-8 YAML text file")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return fail(f"not UTF-8 text (byte {exc.start})")
    else:
        text = raw
    try:
        node = yaml.compose(text, Loader=_loader_for(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return fail(f"YAML syntax: {exc.problem or exc.context}", line, col)
    except yaml.YAMLError as exc:
        return fail(f"YAML: {exc}")
    except RecursionError:
        return fail("YAML nesting is too deep")
    if node is None:
        return fail("empty file: a plan needs at least `version` and `name`")
    loaded = Loaded(name, None)
    problems: list[Problem] = []
    budget = [MAX_NODES]
    try:
        loaded.data = _build(node, (), loaded, problems, budget, depth=0)
    except _Budget:
        return fail(f"more than {MAX_NODES} values (an alias bomb?); plans are small")
    except _TooMany:
        last = problems[-1]
        problems.append(
            Problem(name, last.line, last.column, "", f"stopped after {MAX_PROBLEMS} problems; fix these first")
        )
        return None, problems
    except RecursionError:
        return fail("YAML nesting is too deep")
    return (None, problems) if problems else (loaded, [])


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:omap")
_constructor = yaml.SafeLoader(" ")  # only used for scalar construction (ints, bools, floats, timestamps)


def _build(
    node: yaml.Node, path: PathKey, loaded: Loaded, problems: list[Problem], budget: list[int], depth: int
) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _Budget
    if depth > 64:
        raise RecursionError
    loaded.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        _report(problems, loaded.problem(path, f"YAML: unsupported tag {node.tag} (no constructor for it in a plan)"))
        return None
    if isinstance(node, yaml.MappingNode):
        _constructor.flatten_mapping(node)  # resolves `<<` merge keys
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            # Every key counts against the budget, the ones skipped as duplicates too: merge keys
            # (`<<: [*a, *a]`) can repeat a mapping's keys exponentially often.
            budget[0] -= 1
            if budget[0] < 0:
                raise _Budget
            if not isinstance(key_node, yaml.ScalarNode):
                _report(problems, loaded.problem(path, "mapping keys must be plain strings"))
                continue
            key = str(_constructor.construct_object(key_node))
            child = (*path, key)
            if key in out:
                line = key_node.start_mark.line + 1
                _report(
                    problems, Problem(loaded.file, line, key_node.start_mark.column + 1, dotted(child), "duplicate key")
                )
                continue
            loaded.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _build(value_node, child, loaded, problems, budget, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), loaded, problems, budget, depth + 1) for i, item in enumerate(node.value)]
    try:
        value = _constructor.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        _report(problems, loaded.problem(path, f"YAML: {exc.problem}"))
        return None
    # Dates and timestamps have no place in a plan; keep them as the text that was written.
    if not isinstance(value, (str, int, float, bool, type(None))):
        value = node.value
    return value
