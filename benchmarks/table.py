"""The one table ``python -m benchmarks`` prints: each benchmark script records its
figures here (figure, value, unit, raw baseline, ratio) as JSON lines in the file named
by ``MASSREACH_BENCH_TABLE``; run alone, a script just prints its own report."""

from __future__ import annotations

import json
import os


def record(
    figure: str, value: float, unit: str, baseline: float | None = None, baseline_label: str = ""
) -> None:
    """Add one row to the run's table (a no-op when the script runs on its own)."""
    path = os.environ.get("MASSREACH_BENCH_TABLE")
    if not path:
        return
    row = {
        "figure": figure,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_label": baseline_label,
        "ratio": (value / baseline) if baseline else None,
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
