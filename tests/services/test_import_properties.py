"""Hypothesis properties of imports: counts add up, blank rows don't count, determinism,
and a run killed at any batch resumes to exactly what an uninterrupted run stores."""

from __future__ import annotations

import contextlib
import csv
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from massreach.engine import Reach
from massreach.model import ContactQuery, DuplicatePolicy, ImportOptions, PlanState

phones = st.one_of(
    st.integers(min_value=0, max_value=40).map(lambda n: f"0912 345 {n:03d}"),
    st.integers(min_value=0, max_value=40).map(lambda n: f"+84912345{n:03d}"),
    st.sampled_from(["abc", "123", "", "0912"]),
)
emails = st.one_of(st.just(""), st.integers(0, 10).map(lambda n: f"User{n}@Example.com"))
tags = st.sampled_from(["", "vip", "a,b"])
blank = st.just(["", "", "", ""])
data_row = st.tuples(phones, st.text("abc ", max_size=4), emails, tags).map(list)
rows_strategy = st.lists(st.one_of(data_row, data_row, blank), max_size=40)
policies = st.builds(
    DuplicatePolicy,
    on_duplicate=st.sampled_from(["skip", "update"]),
    clear_owner=st.booleans(),
    reset_status=st.booleans(),
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _write(folder: Path, rows: list[list[str]]) -> Path:
    path = folder / "list.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["phone", "name", "email", "tag"], *rows])
    return path


def _snapshot(reach: Reach) -> list[tuple[Any, ...]]:
    return [
        (
            c.list_id,
            c.position,
            c.phone,
            c.email,
            c.name,
            c.tags,
            tuple(sorted(c.fields.items())),
            c.status,
        )
        for c in reach.storage.find_contacts(ContactQuery())
    ]


@settings(max_examples=40)
@given(rows=rows_strategy, policy=policies, batch=st.integers(1, 7))
def test_counts_add_up_and_blank_rows_do_not_count(
    rows: list[list[str]], policy: DuplicatePolicy, batch: int
) -> None:
    with tempfile.TemporaryDirectory() as folder, Reach("memory:", autoload=False, env={}) as reach:
        path = _write(Path(folder), rows)
        options = ImportOptions(duplicates=policy, batch_size=batch, tags=("t",))
        plan = reach.imports.import_file(path, list_name="l", options=options)
        c = plan.counts
        records = [r for r in rows if any(cell.strip() for cell in r)]
        assert c.total == len(records)
        assert c.total == c.succeeded + c.failed + c.duplicates
        stored = reach.storage.count_contacts(ContactQuery())
        assert stored == c.succeeded - c.updated
        # importing the same file again with skip adds nothing
        again = reach.imports.import_file(
            path, list_name="l", options=ImportOptions(batch_size=batch, tags=("t",))
        )
        assert again.counts.succeeded == 0
        assert reach.storage.count_contacts(ContactQuery()) == stored


@settings(max_examples=25)
@given(
    rows=rows_strategy,
    policy=policies,
    batch=st.integers(1, 5),
    first=st.integers(1, 5),
    second=st.integers(1, 5),
)
def test_batch_size_does_not_change_the_result(
    rows: list[list[str]], policy: DuplicatePolicy, batch: int, first: int, second: int
) -> None:
    results = []
    for size in (first, second):
        with (
            tempfile.TemporaryDirectory() as folder,
            Reach("memory:", autoload=False, env={}) as reach,
        ):
            path = _write(Path(folder), rows)
            options = ImportOptions(duplicates=policy, batch_size=size, tags=("t",))
            plan = reach.imports.import_file(path, list_name="l", options=options)
            results.append((_snapshot(reach), plan.counts))
    assert results[0] == results[1]


def _import_twice(
    folder: Path, url: str, rows: list[list[str]], options: ImportOptions
) -> tuple[list[tuple[Any, ...]], Any, Any]:
    """Import ``rows``, then the same file into the same list again (so that the
    second run meets the first one's contacts in every batch)."""
    path = _write(folder, rows)
    with Reach(url, autoload=False, env={}) as reach:
        first = reach.imports.import_file(path, list_name="l", options=options).counts
        second = reach.imports.import_file(path, list_name="l", options=options).counts
        return _snapshot(reach), first, second


@settings(max_examples=25, deadline=None)
@given(rows=rows_strategy, policy=policies, batch=st.integers(1, 7))
def test_sqlite_stores_what_memory_stores(
    rows: list[list[str]], policy: DuplicatePolicy, batch: int
) -> None:
    """The SQLite backend decides each batch while the one before is written (with
    the contacts that batch adds); the memory backend decides after it. Both store
    the same contacts and count the same."""
    options = ImportOptions(duplicates=policy, batch_size=batch, tags=("t",))
    with tempfile.TemporaryDirectory() as folder:
        expected = _import_twice(Path(folder), "memory:", rows, options)
        got = _import_twice(Path(folder), f"sqlite:///{folder}/x.db", rows, options)
    assert got == expected


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32), policy=policies, spread=st.sampled_from([300, 900, 5000]))
def test_sqlite_stores_what_memory_stores_in_large_batches(
    seed: int, policy: DuplicatePolicy, spread: int
) -> None:
    """As above, with batches large enough to be written on SQLite's second thread."""
    rng = random.Random(seed)
    rows = [
        [
            f"0912{rng.randrange(spread):06d}" if rng.random() > 0.05 else "bad",
            rng.choice(["", "An", "Bình"]),
            f"u{rng.randrange(spread)}@x.vn" if rng.random() > 0.3 else "",
            rng.choice(["", "vip", "a,b"]),
        ]
        for _ in range(700)
    ]
    options = ImportOptions(duplicates=policy, batch_size=300, tags=("t",))
    with tempfile.TemporaryDirectory() as folder:
        expected = _import_twice(Path(folder), "memory:", rows, options)
        got = _import_twice(Path(folder), f"sqlite:///{folder}/x.db", rows, options)
    assert got == expected


class _Crash(Exception):
    pass


@settings(max_examples=30)
@given(rows=rows_strategy, policy=policies, batch=st.integers(1, 5), kill_at=st.integers(0, 12))
def test_killed_run_resumes_to_the_same_result(
    rows: list[list[str]], policy: DuplicatePolicy, batch: int, kill_at: int
) -> None:
    options = ImportOptions(duplicates=policy, batch_size=batch, tags=("t",))
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), rows)
        with Reach("memory:", autoload=False, env={}) as reach:
            reference = reach.imports.import_file(path, list_name="l", options=options)
            expected = (_snapshot(reach), reference.counts)

        clock = Clock()
        with Reach("memory:", autoload=False, env={}, clock=clock) as reach:
            storage = reach.storage
            real_apply = storage.apply_import_batch
            applied = {"n": 0}

            def crashing_apply(batch_write: Any, *, now: datetime, **hints: Any) -> Any:
                if applied["n"] == kill_at:
                    raise _Crash  # the process dies before this batch commits
                applied["n"] += 1
                return real_apply(batch_write, now=now, **hints)

            storage.apply_import_batch = crashing_apply  # type: ignore[method-assign]
            plan = reach.imports.create_plan(path, list_name="l", options=options, run_at=clock.now)
            with contextlib.suppress(_Crash):
                reach.imports.run(plan.id)
            storage.apply_import_batch = real_apply  # type: ignore[method-assign]
            clock.now += timedelta(hours=1)  # the dead worker's lease runs out
            resumed = reach.imports.run_due()
            final = reach.imports.plan(plan.id)
            assert final.state == PlanState.done, resumed
            assert (_snapshot(reach), final.counts) == expected
