#!/usr/bin/env python3
"""How long `bbops migrate lint` takes on the example app's Drizzle folder (plans/bb-prodx/drizzle).

Three figures per run, medians printed side by side:
- the whole CLI as a workflow step runs it (process start-up and imports included),
- the lint itself (journal read, pglast parse, every rule, the plan's ignores),
- a bare `python -c pass`, the floor any CLI pays.

    python bench/lint_speed.py [--runs 7]

Issue target: linting the example app's folder takes under 1 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = "plans/bb-prodx/drizzle"


def wall(*cmd: str) -> tuple[float, str, float]:
    """(wall seconds, stdout, CPU seconds of the child): on a shared machine CPU time is the steadier figure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, out.stdout, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    cli, cpu, inner, floor = [], [], [], []
    statements = 0
    for _ in range(args.runs):
        seconds, out, used = wall(sys.executable, "-m", "bbops", "migrate", "lint", "--dir", FOLDER, "--format", "json")
        data = json.loads(out)
        cli.append(seconds)
        cpu.append(used)
        inner.append(data["duration_s"])
        statements = data["statements"]
        floor.append(wall(sys.executable, "-c", "pass")[0])
    c, u, i, f = (statistics.median(x) for x in (cli, cpu, inner, floor))
    print(f"bbops migrate lint --dir {FOLDER}: {statements} statements, median of {args.runs} runs")
    print(
        f"{'whole CLI (wall)':>18} {'whole CLI (CPU)':>16} {'lint only':>10} {'python -c pass':>15} {'wall / 1 s':>11}"
    )
    print(f"{c:>17.3f}s {u:>15.3f}s {i:>9.3f}s {f:>14.3f}s {c / 1.0:>10.2f}x")


if __name__ == "__main__":
    main()
