"""Import cost in CPU instructions per row, per thread: a figure that does not move
with the machine's load.

    python benchmarks/bench_import_instructions.py [ROWS]      (default: 20000)

Wall-clock figures of a shared VM move by ±30% from one run to the next (the raw
baseline of ``bench_import.py`` has measured anywhere from 121,000 to 251,000 rows/s
on the same machine within an hour), too much to tell a 5% change. Instructions
counted by ``valgrind --tool=callgrind`` are the same run after run for the same
input. The import of ``bench_import.py`` (same generated file, same options) runs
under callgrind for ROWS and for 2 × ROWS rows; the difference divided by ROWS is
the cost of one more row, without start-up (imports, opening the database). It is
printed for the main thread (reading, normalising, planning, staging) and for the
other threads together (SQLite's insert, lookup and commit, WAL checkpoints), with
the raw baseline (``csv.reader`` into ``executemany``, one thread) counted the same
way. Needs valgrind; takes a few minutes (callgrind runs about 50× slower).

The import is main-thread bound (the other threads use about a third of its time),
so ``raw / main`` is the instruction ratio that matters for rows per second.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench_import import generate  # noqa: E402

_SUMMARY = re.compile(r"^summary: (\d+)", re.MULTILINE)
_THREAD = re.compile(r"^thread: (\d+)", re.MULTILINE)


def count(kind: str, csv_path: Path, rows: int, folder: Path) -> dict[str, int]:
    """Instructions of one run of ``bench_import.py --child KIND``: main thread, others."""
    out = folder / f"cg-{kind}-{csv_path.stem}"
    out.mkdir()
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--separate-threads=yes",
            f"--callgrind-out-file={out}/callgrind.%p",
            sys.executable,
            str(HERE / "bench_import.py"),
            "--child",
            kind,
            str(csv_path),
            str(folder / f"{kind}-{csv_path.stem}.db"),
            str(rows),
        ],
        check=True,
        capture_output=True,
    )
    totals = {"main": 0, "other": 0}
    for path in out.iterdir():
        head = path.read_text(errors="replace")[:200_000]
        summary = _SUMMARY.search(head)
        if summary is None:
            continue
        thread = _THREAD.search(head)
        totals["main" if thread is None or thread.group(1) == "1" else "other"] += int(
            summary.group(1)
        )
    return totals


def main(rows: int) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: this benchmark counts instructions with callgrind")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files: list[tuple[Path, int]] = []
        for n in (rows, 2 * rows):
            path = folder / f"customers-{n}.csv"
            generate(path, n)
            files.append((path, n))
        per_row: dict[str, dict[str, float]] = {}
        for kind in ("raw", "massreach"):
            small, large = (count(kind, path, n, folder) for path, n in files)
            per_row[kind] = {k: (large[k] - small[k]) / rows for k in ("main", "other")}
    ours, raw = per_row["massreach"], per_row["raw"]
    print(f"instructions per row, from {rows:,} to {2 * rows:,} rows (valgrind callgrind)")
    print(f"{'':>10} {'main thread':>12} {'other threads':>14} {'all':>10}")
    for label, figures in (("massreach", ours), ("raw", raw)):
        total = figures["main"] + figures["other"]
        print(f"{label:>10} {figures['main']:>12,.0f} {figures['other']:>14,.0f} {total:>10,.0f}")
    print(f"ratio raw / massreach main thread: {raw['main'] / ours['main']:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
