#!/usr/bin/env python3
"""How many API requests (and how much wall time) a preview costs on the project's Neon and Vercel fakes.

Runs ``bbops.preview.create`` on the cloud backend wired to the stateful fakes
of ``tests/fakes`` (each Neon branch a real database on a throwaway Postgres),
without injected faults, and prints the requests each service answered per
step, side by side with the targets of issue 11:

- a new preview (PR opened): at most 12 requests;
- a refresh with nothing changed (the same commit again): at most 6;
- a refresh after a push (new head commit), for information.

    python bench/preview_requests.py [--runs 3] [--verbose] [--trace]

``--verbose`` counts the first run's requests by route; ``--trace`` lists each of
them in the order the services answered them (method, path, status).

``BBOPS_TEST_DATABASE_URL`` points at an existing server instead of starting one.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bbops import preview  # noqa: E402 - after the path set-up above
from bbops.plan import load_plan  # noqa: E402
from bbops.providers.cloud import open_cloud_backend  # noqa: E402
from tests.fakes.base import Seen  # noqa: E402
from tests.fakes.pgdb import PgBranchDatabases  # noqa: E402
from tests.fakes.plugin import CloudFakes, make_fakes  # noqa: E402

PLAN = ROOT / "plans" / "bb-prodx.yaml"
TARGETS = {"create": 12, "refresh (nothing changed)": 6}  # issue 11, without faults


@contextmanager
def server() -> Iterator[str]:
    external = os.environ.get("BBOPS_TEST_DATABASE_URL")
    if external:
        yield external
        return
    import pgserver

    datadir = tempfile.mkdtemp(prefix="bbops-bench-pg-")
    pg = pgserver.get_server(datadir, cleanup_mode="stop")
    try:
        yield pg.get_uri()
    finally:
        pg.cleanup()
        shutil.rmtree(datadir, ignore_errors=True)


def route(r: Seen) -> str:
    """The kind of a request: Neon paths relative to the project, ids as placeholders; Vercel's as they are."""
    if "/api/v2/" not in r.path:
        return f"{r.method} {r.path}"
    path = r.path.split("/projects/")[-1].partition("/")[2]
    path = re.sub(r"\bbr-[a-z0-9-]+", "{branch}", path)
    return f"{r.method} {re.sub(r'[0-9a-f]{8}-[0-9a-f-]{27}', '{operation}', path)}"


def detail(fakes: CloudFakes, r: Seen) -> str:
    """What a trace line adds to the route: the branch and pooling of a connection string, a listing's search."""
    if r.path.endswith("/connection_uri"):
        branch = fakes.neon.branches.get(r.params.get("branch_id", ""), {}).get("name", "?")
        return f" ({branch}, {'pooled' if r.params.get('pooled') == 'true' else 'direct'})"
    if r.path.endswith("/branches") and r.method == "GET":
        return f" (search {r.params['search']!r})" if r.params.get("search") else " (all)"
    return ""


def measured(fakes: CloudFakes, step: Callable[[], object]) -> tuple[int, int, float, Counter[str], list[Seen]]:
    """Requests both fakes answered during ``step`` (and how many of them were waiting polls), wall s, routes,
    and the requests themselves in the order they arrived."""
    before = len(fakes.neon.requests), len(fakes.vercel.requests)
    started = time.perf_counter()
    step()
    seconds = time.perf_counter() - started
    seen = sorted(fakes.neon.requests[before[0] :] + fakes.vercel.requests[before[1] :], key=lambda r: r.seq)
    routes = Counter(route(r) for r in seen)
    # Polls while a Vercel build runs: every deployment lookup after the first one.
    polls = max(0, sum(1 for r in seen if r.method == "GET" and "/deployments" in r.path) - 1)
    return len(seen), polls, seconds, routes, seen


def push(fakes: CloudFakes, git_branch: str, sha: str) -> None:
    """What Vercel's Git integration does on a push: start building the commit (when the fake knows how)."""
    git_push = getattr(fakes.vercel, "git_push", None)  # the fake learned Git builds in issue 11
    if git_push is not None:
        git_push(git_branch, sha)


BUILDING = "create (Git build running, 20 s)"
# (label, head commit, push before the command?, seconds the Git build has run when the command starts)
STEPS = [
    ("create (Git build done)", "a" * 40, True, 30.0),
    ("refresh (nothing changed)", "a" * 40, False, 0.0),
    ("refresh (new commit)", "b" * 40, True, 0.0),
]


def one_run(url: str, pr: int, verbose: bool, building: bool, trace: bool = False) -> dict[str, tuple[int, int, float]]:
    databases = PgBranchDatabases(url, prefix=f"bench{pr}")
    fakes = make_fakes(databases)
    os.environ.update(fakes.env)
    plan = load_plan(PLAN)
    results: dict[str, tuple[int, int, float]] = {}
    git_branch = f"feature/bench-{pr}"
    steps = list(STEPS)
    if building:
        steps[0] = (BUILDING, "a" * 40, True, 0.0)
    try:
        for label, sha, pushed, head_start in steps:
            if pushed:
                push(fakes, git_branch, sha)
                fakes.clock.advance(head_start)
            backend = open_cloud_backend(None, transports=fakes.transports)  # one backend per command
            try:
                request = preview.PullRequest(pr, git_branch, sha, "bb/app")
                count, polls, seconds, routes, seen = measured(
                    fakes, lambda r=request, b=backend: preview.create(b, plan, r)
                )
            finally:
                backend.close()
            results[label] = (count, polls, seconds)
            if building and label != BUILDING:
                continue  # only its create is shown: the rest is the run above again
            if verbose:
                print(f"  {label}: " + ", ".join(f"{n}x {kind}" for kind, n in sorted(routes.items())))
            if trace:
                print(f"  {label}: {len(seen)} requests")
                for i, r in enumerate(seen, 1):
                    print(f"    {i:>2}. {r.status or '---'} {route(r)}{detail(fakes, r)}")
    finally:
        databases.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--verbose", action="store_true", help="count the requests of the first run by route")
    parser.add_argument("--trace", action="store_true", help="list every request of the first run, in order")
    args = parser.parse_args()
    runs: list[dict[str, tuple[int, int, float]]] = []
    with server() as url:
        for i in range(args.runs):
            first = i == 0
            runs.append(one_run(url, 500 + i, args.verbose and first, building=False, trace=args.trace and first))
            # Only its create differs from the run above.
            building = one_run(url, 600 + i, args.verbose and first, building=True, trace=args.trace and first)
            runs[-1][BUILDING] = building[BUILDING]
    print(f"bbops preview on the Neon and Vercel fakes (Git build 20 s, redeploy 3 s), no faults, {args.runs} run(s)")
    print(f"{'step':<36}{'requests':>10}{'polls':>7}{'others':>8}{'target':>8}{'median s':>10}  verdict")
    for label in runs[0]:
        counts = sorted(r[label][0] for r in runs)
        polls = max(r[label][1] for r in runs)
        seconds = statistics.median(r[label][2] for r in runs)
        target = next((t for key, t in TARGETS.items() if label.startswith(key)), None)
        others = counts[-1] - polls
        verdict = "" if target is None else ("met" if others <= target else "NOT met")
        shown = str(counts[-1]) if counts[0] == counts[-1] else f"{counts[0]}-{counts[-1]}"
        print(f"{label:<36}{shown:>10}{polls:>7}{others:>8}{target or '-':>8}{seconds:>10.2f}  {verdict}")
    print("polls: deployment lookups while a Vercel build runs (bounded waits); the targets count the others.")


if __name__ == "__main__":
    main()
