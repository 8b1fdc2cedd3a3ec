"""Run every benchmark and print one table: figure, value, raw baseline, ratio.

    python -m benchmarks            # full sizes (1,000,000 rows; takes a while)
    python -m benchmarks --quick    # smaller sizes, same figures

Each script also prints its own detailed report; those go to ``benchmarks-report.txt``
beside the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

SCRIPTS: dict[str, tuple[list[str], list[str]]] = {
    # name: (full arguments, quick arguments)
    "bench_import.py": (["100000", "1000000"], ["20000", "100000"]),
    "bench_phone_column.py": (["5000", "VN"], ["5000", "VN"]),
    "bench_audience.py": (["1000000"], ["100000"]),
    "bench_storage_sql.py": (
        ["--rows", "1000000", "--agents", "500"],
        ["--rows", "100000", "--agents", "500", "--small", "20000"],
    ),
    "bench_dispatch.py": (["--messages", "20000"], ["--messages", "3000", "--rounds", "1"]),
}


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description="run the massreach benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument(
        "--only", action="append", default=[], help="run only this script (repeatable)"
    )
    parser.add_argument(
        "--report", default="benchmarks-report.txt", help="where the detailed reports go"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "table.jsonl"
        env = {**os.environ, "MASSREACH_BENCH_TABLE": str(table), "PYTHONPATH": str(HERE.parent)}
        with open(args.report, "w", encoding="utf-8") as report:
            for script, (full, quick) in SCRIPTS.items():
                if (
                    args.only
                    and script not in args.only
                    and script.removesuffix(".py") not in args.only
                ):
                    continue
                command = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
                print(f"running {script} …", file=sys.stderr, flush=True)
                report.write(f"$ {' '.join(command)}\n")
                report.flush()
                done = subprocess.run(
                    command, env=env, stdout=report, stderr=subprocess.STDOUT, check=False
                )
                if done.returncode:
                    print(
                        f"  {script} failed (exit {done.returncode}); see {args.report}",
                        file=sys.stderr,
                    )
        rows = (
            [json.loads(line) for line in table.read_text().splitlines()] if table.exists() else []
        )
    print(f"machine: {_machine()}")
    print(f"{'figure':<58} {'value':>14} {'raw baseline (same run)':>34} {'ratio':>7}")
    for row in rows:
        value = (
            f"{row['value']:,.0f} {row['unit']}"
            if row["value"] >= 100
            else f"{row['value']:.2f} {row['unit']}"
        )
        if row["baseline"] is None:
            base, ratio = "", ""
        else:
            b = row["baseline"]
            base = (f"{b:,.0f}" if b >= 100 else f"{b:.2f}") + f" {row['baseline_label']}"
            ratio = f"{row['ratio']:.2f}"
        print(f"{row['figure']:<58} {value:>14} {base:>34} {ratio:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
