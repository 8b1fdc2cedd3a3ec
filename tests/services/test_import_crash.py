"""A real crash: an import process killed with SIGKILL mid-run resumes to exactly the
result of an uninterrupted run (SQLite file database)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from massreach import ContactQuery, ImportOptions, PlanState, Reach

pytestmark = pytest.mark.slow

WORKER = textwrap.dedent(
    """
    import sys
    from massreach import ImportOptions, Reach, hookimpl

    class Report:
        @hookimpl
        def massreach_import_progress(self, plan, rows_done, rows_total):
            print(rows_done, flush=True)

    url, path = sys.argv[1], sys.argv[2]
    with Reach(url, plugins=[Report()], autoload=False, env={}) as reach:
        options = ImportOptions(batch_size=200, tags=("t",))
        reach.imports.import_file(path, list_name="l", options=options)
    """
)


def _snapshot(reach: Reach) -> list[tuple[object, ...]]:
    return [
        (c.position, c.phone, c.email, c.name, c.tags, tuple(sorted(c.fields.items())))
        for c in reach.storage.find_contacts(ContactQuery())
    ]


def test_sigkill_during_import_then_resume(tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    with source.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phone", "name", "email", "tag"])
        for i in range(12_000):
            n = i if i % 50 else i // 2  # some duplicates
            w.writerow(
                [f"09{12_000_000 + n:08d}" if i % 199 else "bad", f"N{n}", f"u{n}@x.vn", "a"]
            )

    with Reach(f"sqlite:///{tmp_path / 'ref.db'}", autoload=False, env={}) as reach:
        reference = reach.imports.import_file(
            source, list_name="l", options=ImportOptions(batch_size=200, tags=("t",))
        )
        expected = (_snapshot(reach), reference.counts)

    url = f"sqlite:///{tmp_path / 'crash.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, url, str(source)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for batches, _line in enumerate(proc.stdout, 1):
        if batches == 7:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    later = datetime.now(UTC) + timedelta(hours=1)  # the dead worker's lease has run out
    with Reach(url, autoload=False, env={}, clock=lambda: later) as reach:
        (plan,) = reach.storage.plans()
        assert plan.state == PlanState.running and 0 < plan.cursor < 12_001
        reach.imports.run_due()
        done = reach.imports.plan(plan.id)
        assert done.state == PlanState.done
        assert (_snapshot(reach), done.counts) == expected
