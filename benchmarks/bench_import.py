"""Import speed and memory: a generated customer CSV into SQLite, end to end.

    python benchmarks/bench_import.py [ROWS ...]      (default: 100000 1000000)

Each run happens in a fresh subprocess so that peak RSS is the run's own. Printed per
size: rows/s of ``Reach.imports.import_file`` (phone normalisation, duplicate checks
in the database, batches committed with the plan cursor; timed from the call to the
database closed, with the engine opened before), peak RSS, and the raw
baseline measured in the same run: ``csv.reader`` into SQLite ``executemany`` with no
normalisation at all, and the ratio between them. The package is byte-compiled
first, as installing a wheel does.

Memory: besides the peak, the resident size is read after every committed batch (from
``/proc/self/statm``, on Linux), and the largest reading of the file's first and
second half is printed. A second half no larger than the first shows that memory
does not grow with the file: what a bigger file adds over a small one is SQLite's page
cache, which is capped (48 MB) and which a 100,000-row database does not fill.

Machine: the issue's target (100,000 rows/s) is set for a 2-core machine on which
phonenumbers alone validates about 40,000 numbers a second. The first line printed is
that figure measured here, on the benchmark's own phone column, so the rates below can
be scaled to that machine.
"""

from __future__ import annotations

import csv
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    from benchmarks.table import record
except ImportError:  # run as a plain script from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.table import record


def _digits(n: int) -> str:
    return f"{n % 100_000_000:08d}"


FORMATS = (
    lambda n: f"09{_digits(n)}",
    lambda n: f"+84 9{_digits(n)[:2]} {_digits(n)[2:5]} {_digits(n)[5:]}",
    lambda n: f"09{_digits(n)[:2]}-{_digits(n)[2:5]}-{_digits(n)[5:]}",
    lambda n: f"849{_digits(n)}",
    lambda n: f"849{_digits(n)}.0",
    lambda n: f"(09{_digits(n)[:2]}) {_digits(n)[2:]}",
)


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """phone (mixed formats), name, email, 3 variables, tag; 2% duplicates, 0.5% bad numbers."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Số điện thoại", "Họ tên", "Email", "param0", "param1", "param2", "Nhãn"])
        for i in range(rows):
            roll = rng.random()
            n = rng.randrange(rows) if roll < 0.02 and i else i
            bad = roll > 0.995
            phone = "09" + "x" * 8 if bad else FORMATS[i % len(FORMATS)](n + 12_000_000)
            w.writerow(
                [
                    phone,
                    f"Khách {n}",
                    f"user{n}@example.vn",
                    str(n % 97),
                    f"{n * 3 % 1000}000",
                    f"DH{n:07d}",
                    "vip" if n % 3 else "new",
                ]
            )


def current_rss_mb() -> float | None:
    """The resident size now, from ``/proc/self/statm`` (None where there is none)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            resident_pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident_pages * resource.getpagesize() / 2**20


class MemorySampler:
    """Resident sizes read after every committed import batch, by the plugin
    :meth:`plugin` returns. (massreach is imported there, not at the top, so that
    the raw baseline's process does not load it.)"""

    def __init__(self) -> None:
        self.samples: list[tuple[int, float]] = []

    def plugin(self) -> object:
        from massreach import hookimpl

        samples = self.samples

        class Sampler:
            @hookimpl
            def massreach_import_progress(
                self, plan: object, rows_done: int, rows_total: int | None
            ) -> None:
                rss = current_rss_mb()
                if rss is not None:
                    samples.append((rows_done, rss))

        return Sampler()

    def halves(self, rows: int) -> tuple[float | None, float | None]:
        """The largest reading while the first half of the file was read, and the
        second."""
        first = [mb for done, mb in self.samples if done <= rows // 2]
        second = [mb for done, mb in self.samples if done > rows // 2]
        return (max(first) if first else None, max(second) if second else None)


def run_massreach(path: Path, db: Path, rows: int) -> dict[str, float | None]:
    from massreach import ImportOptions, Reach

    # Timed: the import and closing the database (its last WAL checkpoint), not
    # opening it (loading the plugins and creating the tables happen once per process).
    sampler = MemorySampler()
    reach = Reach(f"sqlite:///{db}", autoload=False, env={}, plugins=[sampler.plugin()])
    start = time.perf_counter()
    with reach:
        plan = reach.imports.import_file(
            path, list_name="bench", options=ImportOptions(region="VN")
        )
    seconds = time.perf_counter() - start
    c = plan.counts
    first_half, second_half = sampler.halves(rows)
    return {
        "seconds": seconds,
        "total": c.total,
        "succeeded": c.succeeded,
        "failed": c.failed,
        "duplicates": c.duplicates,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_first_half_mb": first_half,
        "rss_second_half_mb": second_half,
    }


def run_raw(path: Path, db: Path) -> dict[str, float]:
    start = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(
        "CREATE TABLE t (phone TEXT, name TEXT, email TEXT, p0 TEXT, p1 TEXT, p2 TEXT, tag TEXT)"
    )
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        batch: list[list[str]] = []
        for row in reader:
            batch.append(row)
            if len(batch) == 5000:
                with con:
                    con.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?)", batch)
                batch = []
        with con:
            con.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?)", batch)
    con.close()
    return {
        "seconds": time.perf_counter() - start,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def phonenumbers_rate(path: Path, count: int = 20_000) -> float:
    """Numbers a second that phonenumbers alone validates and formats (parse,
    is_valid_number, format_number to E.164), on the first ``count`` phone cells of
    ``path``: the issue's yardstick for the machine."""
    import phonenumbers

    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        cells = [row[0] for _, row in zip(range(count), reader, strict=False)]
    e164 = phonenumbers.PhoneNumberFormat.E164
    start = time.perf_counter()
    for cell in cells:
        try:
            number = phonenumbers.parse(cell, "VN")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            phonenumbers.format_number(number, e164)
    return len(cells) / (time.perf_counter() - start)


def child(kind: str, path: str, db: str, rows: str) -> None:
    result = (
        run_massreach(Path(path), Path(db), int(rows))
        if kind == "massreach"
        else run_raw(Path(path), Path(db))
    )
    print(json.dumps(result))


def measure(kind: str, path: Path, folder: Path, rows: int) -> dict[str, float]:
    db = folder / f"{kind}-{path.stem}.db"
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path), str(db), str(rows)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def compile_package() -> None:
    """Byte-compile massreach as installing a wheel does (pip writes the ``.pyc``
    files). An editable checkout on a machine with ``PYTHONDONTWRITEBYTECODE`` set
    would otherwise compile the modules an import loads on first use, in each run's
    fresh process, inside the timing (about 35 ms here)."""
    import compileall

    import massreach

    compileall.compile_dir(Path(massreach.__file__).parent, quiet=1)


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main(sizes: list[int]) -> None:
    compile_package()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sample = folder / "phones.csv"
        generate(sample, 20_000)
        yardstick = phonenumbers_rate(sample)
        print(
            f"phonenumbers alone here: {yardstick:,.0f} numbers/s "
            f"(the target machine: about 40,000)"
        )
        record("phonenumbers alone (the machine's yardstick)", yardstick, "numbers/s")
        print(
            f"{'rows':>9} {'massreach rows/s':>17} {'peak RSS MB':>12} {'RSS 1st/2nd half':>17}"
            f" {'raw rows/s':>11} {'raw RSS MB':>11} {'ratio':>6}  counts"
        )
        for rows in sizes:
            path = folder / f"customers-{rows}.csv"
            generate(path, rows)
            raw = measure("raw", path, folder, rows)
            ours = measure("massreach", path, folder, rows)
            rate, raw_rate = rows / ours["seconds"], rows / raw["seconds"]
            counts = f"ok={ours['succeeded']:.0f} failed={ours['failed']:.0f} dup={ours['duplicates']:.0f}"
            halves = f"{_mb(ours['rss_first_half_mb'])}/{_mb(ours['rss_second_half_mb'])}"
            print(
                f"{rows:>9} {rate:>17,.0f} {ours['rss_mb']:>12.0f} {halves:>17}"
                f" {raw_rate:>11,.0f} {raw['rss_mb']:>11.0f} {rate / raw_rate:>6.2f}  {counts}"
            )
            record(
                f"import {rows:,} rows CSV→SQLite",
                rate,
                "rows/s",
                raw_rate,
                "rows/s csv→executemany",
            )
            record(f"import {rows:,} rows: peak RSS", ours["rss_mb"], "MB", raw["rss_mb"], "MB raw")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
    else:
        main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
