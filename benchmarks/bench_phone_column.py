"""Phone cells a column at a time against one call per cell (not a test; prints figures).

    .venv/bin/python benchmarks/bench_phone_column.py [BATCH] [REGION]   (default 5000 VN)

Builds a batch of phone cells in the shapes of ``bench_import`` (``FORMATS``: national,
"+84 9x xxx xxxxx", dashes, "84…", Excel's "84….0", "(09x) …"; 0.5% bad numbers), and
prints the CPU time per number (best of several runs, ``time.process_time``) of

* ``[PhoneNormalizer(region).e164_or_none(c) for c in cells]`` -- one call per cell;
* ``PhoneNormalizer(region).e164_many(cells)`` -- :mod:`massreach.core.phone_batch`;

and the ratio. For a region other than VN the cells are that region's example mobile
number, varied, in the international, national and E.164 formats. The two answers are
compared before timing.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import phonenumbers

try:
    from benchmarks.bench_import import FORMATS
    from benchmarks.table import record
except ImportError:  # run as a plain script from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.bench_import import FORMATS
    from benchmarks.table import record

from massreach.core.phone_batch import phone_column
from massreach.core.phones import PhoneNormalizer


def vn_cells(size: int, seed: int = 7) -> list[str]:
    """``size`` cells as ``bench_import.generate`` writes them (0.5% bad)."""
    rng = random.Random(seed)
    return [
        "09" + "x" * 8 if rng.random() > 0.995 else FORMATS[i % len(FORMATS)](i + 12_000_000)
        for i in range(size)
    ]


def region_cells(region: str, size: int, seed: int = 7) -> list[str]:
    """The region's example mobile number with its last digits varied, in three formats."""
    rng = random.Random(seed)
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise SystemExit(f"no example mobile number for {region}")
    national = str(example.national_number)
    formats = [
        phonenumbers.PhoneNumberFormat.NATIONAL,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.E164,
    ]
    out = []
    for i in range(size):
        tail = f"{rng.randrange(10_000):04d}"
        number = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=int(national[:-4] + tail)
        )
        out.append(phonenumbers.format_number(number, formats[i % len(formats)]))
    return out


def best_cpu(fn: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main(argv: list[str]) -> None:
    size = int(argv[1]) if len(argv) > 1 else 5000
    region = argv[2].upper() if len(argv) > 2 else "VN"
    cells = vn_cells(size) if region == "VN" else region_cells(region, size)
    normalizer = PhoneNormalizer(region)
    one = normalizer.e164_or_none
    start = time.perf_counter()
    column = phone_column(region)
    built = time.perf_counter() - start
    per_cell = [one(c) for c in cells]
    assert normalizer.e164_many(cells) == per_cell, "e164_many disagrees with e164_or_none"
    valid = sum(v is not None for v in per_cell)
    runs = max(5, 200_000 // size)
    cell_time = best_cpu(lambda: [one(c) for c in cells], max(3, runs // 4))
    column_time = best_cpu(lambda: normalizer.e164_many(cells), runs)
    per_cell_us = cell_time / size * 1e6
    column_us = column_time / size * 1e6
    print(
        f"{region}: batch of {size:,} cells, {valid:,} valid; column compiled in "
        f"{built * 1000:.0f} ms (once per process), vectorised: {column.vectorised}"
    )
    print(f"{'e164_or_none per cell':<28} {per_cell_us:>7.3f} us/number (cpu)")
    print(f"{'e164_many, column at a time':<28} {column_us:>7.3f} us/number (cpu)")
    print(f"ratio: {per_cell_us / column_us:.1f}x")
    record(
        f"phones {region}: e164_many, batch of {size:,}",
        1e6 / column_us,
        "numbers/s",
        1e6 / per_cell_us,
        "numbers/s e164_or_none per cell",
    )


if __name__ == "__main__":
    main(sys.argv)
