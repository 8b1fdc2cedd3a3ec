"""The garbage collector's threshold during an import: raised, shared, put back."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from massreach import hookimpl
from massreach.engine import Reach
from massreach.model import ImportOptions
from massreach.services.collector_pacing import IMPORT_GC_THRESHOLD, sparse_collections


@pytest.fixture(autouse=True)
def default_threshold() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_raises_the_young_threshold_and_puts_it_back() -> None:
    with sparse_collections():
        assert gc.get_threshold() == (IMPORT_GC_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_never_lowers_a_higher_threshold() -> None:
    gc.set_threshold(IMPORT_GC_THRESHOLD * 2, 5, 7)
    with sparse_collections():
        assert gc.get_threshold() == (IMPORT_GC_THRESHOLD * 2, 5, 7)
    assert gc.get_threshold() == (IMPORT_GC_THRESHOLD * 2, 5, 7)


def test_automatic_collection_switched_off_stays_off() -> None:
    gc.set_threshold(0, 10, 10)
    with sparse_collections():
        assert gc.get_threshold() == (0, 10, 10)
    assert gc.get_threshold() == (0, 10, 10)


def test_restored_after_an_error() -> None:
    with pytest.raises(RuntimeError), sparse_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_uses_restore_once_the_last_ends() -> None:
    """Two imports in two threads: the first to end does not put the default back
    under the other, and the last to end does."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []

    def first() -> None:
        with sparse_collections():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with sparse_collections():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.get_threshold())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [(IMPORT_GC_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == (700, 10, 10)


def test_an_import_runs_with_the_raised_threshold_and_restores_it(tmp_path: Path) -> None:
    seen: list[int] = []

    class Progress:
        @hookimpl
        def massreach_import_progress(self, plan, rows_done, rows_total):  # type: ignore[no-untyped-def]
            seen.append(gc.get_threshold()[0])

    path = tmp_path / "a.csv"
    path.write_text(
        "phone,tag\n" + "".join(f"09123456{i:02d},t\n" for i in range(30)), encoding="utf-8"
    )
    with Reach("memory:", autoload=False, env={}, plugins=[Progress()]) as engine:
        plan = engine.imports.import_file(path, list_name="l", options=ImportOptions(batch_size=10))
    assert plan.counts.succeeded == 30
    assert seen == [IMPORT_GC_THRESHOLD] * 3
    assert gc.get_threshold() == (700, 10, 10)
