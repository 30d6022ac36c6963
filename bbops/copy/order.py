"""Foreign-key graph logic: in which order tables can be loaded, and which keys must wait.

Pure functions over table names and ``ForeignKey`` edges (child -> parent); no
database access, so every case is unit-tested in memory.

How the awkward shapes are handled (data-only loads into a schema whose foreign
keys are enforced):

* A table that references itself (``categories.parent_id -> categories.id``)
  is loaded by a single ``COPY`` statement. Postgres queues foreign-key checks
  of non-deferred constraints to the end of the statement, so rows may arrive
  in any order as long as they arrive in one statement; such tables are
  therefore never split into parallel key ranges.
* Tables in a cycle (``users.default_address_id -> addresses``,
  ``addresses.user_id -> users``) cannot be ordered. The foreign keys *inside*
  the cycle are reported in ``LoadOrder.deferred``: the copy drops them before
  loading and adds them back afterwards (``NOT VALID`` then ``VALIDATE``, which
  also proves no row was orphaned). Keys leaving the cycle still order it after
  its parents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ForeignKey:
    name: str
    child: str  # the referencing table
    parent: str  # the referenced table
    deferrable: bool = False


@dataclass
class LoadOrder:
    """The result of ``load_order``.

    ``order``: every table, parents before children (ties: the given order).
    ``parents``: for each table, the tables that must be fully loaded first.
    ``cycles``: groups of two or more tables that reference each other in a loop.
    ``self_referencing``: tables with a key to themselves (load in one statement).
    ``deferred``: keys to drop before the load and re-add after (the cycles' keys).
    """

    order: list[str]
    parents: dict[str, set[str]]
    cycles: list[list[str]] = field(default_factory=list)
    self_referencing: set[str] = field(default_factory=set)
    deferred: list[ForeignKey] = field(default_factory=list)


def strongly_connected(nodes: Sequence[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (deep FK chains must not hit the recursion limit).

    Returns the components in reverse topological order of ``edges`` (a node's
    successors' components come before its own).
    """
    position = {name: i for i, name in enumerate(nodes)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(edges.get(succ, ())))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component, key=lambda t: position.get(t, len(position))))
    return result


def load_order(tables: Sequence[str], foreign_keys: Iterable[ForeignKey]) -> LoadOrder:
    """Order ``tables`` so that every parent is loaded before its children.

    Keys to tables outside ``tables`` are ignored: those parents are expected to
    be present already (or are not part of this load).
    """
    wanted = list(dict.fromkeys(tables))
    members = set(wanted)
    keys = [fk for fk in foreign_keys if fk.child in members and fk.parent in members]
    self_ref = {fk.child for fk in keys if fk.child == fk.parent}
    # Edges child -> parent: a table depends on its parents.
    depends: dict[str, set[str]] = {t: set() for t in wanted}
    for fk in keys:
        if fk.child != fk.parent:
            depends[fk.child].add(fk.parent)

    components = strongly_connected(wanted, depends)
    component_of = {t: i for i, comp in enumerate(components) for t in comp}
    cycles = [comp for comp in components if len(comp) > 1]
    deferred = [fk for fk in keys if fk.child != fk.parent and component_of[fk.child] == component_of[fk.parent]]
    deferred_names = {(fk.child, fk.name) for fk in deferred}

    parents: dict[str, set[str]] = {t: set() for t in wanted}
    for fk in keys:
        if fk.child != fk.parent and (fk.child, fk.name) not in deferred_names:
            parents[fk.child].add(fk.parent)

    # Tarjan emits components with parents first (edges point child -> parent);
    # flatten, keeping the caller's order inside each component.
    order = [t for comp in components for t in comp]
    return LoadOrder(
        order=order,
        parents=parents,
        cycles=cycles,
        self_referencing=self_ref,
        deferred=deferred,
    )


def explain(plan: LoadOrder) -> list[str]:
    """Human-readable lines about the special cases in ``plan`` (for logs)."""
    lines = []
    for table in sorted(plan.self_referencing):
        lines.append(f"{table} references itself: loaded by one COPY statement (checks run at its end)")
    for cycle in plan.cycles:
        keys = [fk.name for fk in plan.deferred if fk.child in cycle]
        lines.append(
            f"foreign-key cycle {' -> '.join(cycle)}: keys {', '.join(sorted(keys))} are dropped "
            "for the load and re-added (NOT VALID, then VALIDATE)"
        )
    return lines
