"""Benchmark plumbing: a results table printed at the end and saved as JSON.

Benchmarks measure and print; they do not assert speed (targets are shown beside the figures).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

RESULTS = Path(__file__).parent / "results"


def peak_rss_mb() -> float:
    """This process's own peak RSS in MB: the VmHWM of its memory map.

    Not `getrusage(RUSAGE_SELF).ru_maxrss`: Linux carries that figure across exec, so a
    subprocess started by a large pytest process reports pytest's peak as its own.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found in /proc/self/status")


class Report:
    """Rows of (benchmark, figure, unit, target, met) collected over the run."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(
        self, name: str, value: float, unit: str, target: str = "", met: bool | None = None
    ) -> None:
        """Record one figure; `met` says whether it meets `target` (None: no target)."""
        self.rows.append({"name": name, "value": value, "unit": unit, "target": target, "met": met})
        mark = "" if met is None else (" (meets target)" if met else " (MISSES target)")
        target_text = f"   target {target}" if target else ""
        print(f"  {name:<58} {value:>14,.3f} {unit:<10}{target_text}{mark}")


@pytest.fixture(scope="session")
def report() -> Iterator[Report]:
    collected = Report()
    print()
    yield collected
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "rows": collected.rows,
    }
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(payload, indent=2))
    print("\nSUMMARY")
    for row in collected.rows:
        mark = {None: "", True: "ok", False: "MISS"}[row["met"]]  # type: ignore[index]
        print(
            f"  {row['name']:<58} {row['value']:>14,.3f} {row['unit']:<10} {row['target']:<14} {mark}"
        )
