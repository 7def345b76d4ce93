"""Import time of the SDK and of each connector, each in a fresh interpreter.

Two numbers per module: the cumulative time ``python -X importtime`` attributes to it (what
importing it costs on top of the interpreter), and the median wall time of ``python -c
"import <module>"`` minus that of ``python -c pass`` over a few runs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any

from bench._proc import ROOT

MODULES = ("erpsa_sdk", "erpsa_netsuite", "erpsa_kantata", "erpsa_dynamics365")


def _wall(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def cumulative_us(module: str) -> int | None:
    """``-X importtime``'s cumulative microseconds for ``module`` (its own line)."""
    p = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in reversed(p.stderr.splitlines()):
        parts = [x.strip() for x in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    return None


def run(*, reps: int = 5) -> list[dict[str, Any]]:
    """One row per module."""
    rows = []
    for module in MODULES:
        base, wall = [], []
        for _ in range(reps):
            base.append(_wall("pass"))
            wall.append(_wall(f"import {module}"))
        rows.append(
            {
                "module": module,
                "importtime_ms": round((cumulative_us(module) or 0) / 1000, 1),
                "wall_ms": round(1000 * (statistics.median(wall) - statistics.median(base)), 1),
                "wall_min_max_ms": [
                    round(1000 * (min(wall) - statistics.median(base)), 1),
                    round(1000 * (max(wall) - statistics.median(base)), 1),
                ],
            }
        )
    return rows
