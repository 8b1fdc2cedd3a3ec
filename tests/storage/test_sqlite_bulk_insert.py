"""The SQLite bulk insert: literal columns, runs of ids, and a staged batch written on
a second thread while ``meanwhile`` runs on the caller's."""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.adapters.sql_dialect import QUICK_SWITCH_SECONDS, Dialect


@pytest.fixture
def cur() -> Iterator[sqlite3.Cursor]:
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, n INTEGER UNIQUE)")
    cursor = conn.cursor()
    cursor.execute("BEGIN")
    yield cursor
    conn.close()


def rows(cur: sqlite3.Cursor) -> list[tuple[object, ...]]:
    return cur.execute("SELECT id, a, b, n FROM t ORDER BY id").fetchall()


@pytest.mark.parametrize("count", [1, 255, 256, 700])
def test_columns_go_in_as_given_with_or_without_staging(cur: sqlite3.Cursor, count: int) -> None:
    a = [f"a'{i}\x00" if i % 7 == 0 else None for i in range(count)]
    b = ["same"] * count
    seen: list[str] = []

    def meanwhile() -> str:
        seen.append(threading.current_thread().name)
        return "next"

    got = Dialect().insert_columns(
        cur, "t", {"id": range(10, 10 + count), "a": a, "b": b, "n": list(range(count))}, meanwhile
    )
    assert got == "next" and seen == [threading.current_thread().name]
    assert rows(cur) == [(10 + i, a[i], "same", i) for i in range(count)]


def test_a_staged_batch_of_constant_columns_keeps_every_row(cur: sqlite3.Cursor) -> None:
    Dialect().insert_columns(cur, "t", {"a": ["x"] * 300, "b": [None] * 300}, lambda: None)
    assert cur.execute("SELECT count(*), min(a), max(a), max(b) FROM t").fetchone() == (
        300, "x", "x", None,
    )  # fmt: skip


def test_equal_columns_are_staged_once_and_stored_twice(cur: sqlite3.Cursor) -> None:
    values = [f"v{i}" for i in range(300)]
    Dialect().insert_columns(cur, "t", {"a": values, "b": list(values)}, lambda: None)
    assert [(a, b) for _, a, b, _ in rows(cur)] == list(zip(values, values, strict=True))


def test_a_failing_staged_insert_raises_after_meanwhile_and_leaves_the_stage_empty(
    cur: sqlite3.Cursor,
) -> None:
    seen: list[int] = []
    with pytest.raises(sqlite3.IntegrityError):
        Dialect().insert_columns(cur, "t", {"n": [1] * 299 + [2]}, lambda: seen.append(1))
    assert seen == [1]
    assert rows(cur) == []
    Dialect().insert_columns(cur, "t", {"n": list(range(300))}, lambda: None)
    assert [n for *_, n in rows(cur)] == list(range(300))


def test_what_meanwhile_raises_comes_after_the_insert(cur: sqlite3.Cursor) -> None:
    def unreadable() -> None:
        raise ValueError("next batch")

    with pytest.raises(ValueError, match="next batch"):
        Dialect().insert_columns(cur, "t", {"n": list(range(300))}, unreadable)
    assert len(rows(cur)) == 300


@given(
    base=st.lists(
        st.tuples(st.none() | st.text(), st.none() | st.text(max_size=3) | st.integers(-5, 5)),
        min_size=1,
        max_size=8,
    ),
    repeat=st.integers(1, 80),
)
def test_staged_and_plain_inserts_store_the_same_rows(
    base: list[tuple[str | None, str | int | None]], repeat: int
) -> None:
    """Whatever the values (NUL characters, NULLs, constant columns), a staged batch
    stores what executemany stores."""
    given_rows = base * repeat
    stored = []
    for meanwhile in (None, lambda: None):
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b)")
        cursor = conn.cursor()
        cursor.execute("BEGIN")
        columns = {"a": [a for a, _ in given_rows], "b": [b for _, b in given_rows]}
        Dialect().insert_columns(cursor, "t", columns, meanwhile)
        stored.append(cursor.execute("SELECT id, a, b, typeof(b) FROM t ORDER BY id").fetchall())
        conn.close()
    assert stored[0] == stored[1]
    assert [(a, b) for _, a, b, _ in stored[0]] == given_rows


@pytest.mark.parametrize("count", [3, 300])
def test_a_column_that_ends_as_it_starts_is_not_a_literal(cur: sqlite3.Cursor, count: int) -> None:
    a = ["same"] * count
    a[count // 2] = "other"
    for meanwhile in (None, lambda: None):
        Dialect().insert_columns(cur, "t", {"a": a, "b": a}, meanwhile)
        assert [row[1:3] for row in rows(cur)] == list(zip(a, a, strict=True))
        cur.execute("DELETE FROM t")


@pytest.mark.parametrize("count", [10, 300, 1001])
def test_commit_beside_the_insert_ends_the_transaction(cur: sqlite3.Cursor, count: int) -> None:
    values = [f"v{i}" for i in range(count)]
    got = Dialect().insert_columns(cur, "t", {"a": values}, lambda: "next", commit=True)
    assert got == "next"
    assert not cur.connection.in_transaction
    assert [a for _, a, _, _ in rows(cur)] == values


@pytest.mark.parametrize("count", [0, 10, 300])
def test_before_reads_the_table_as_it_was_and_meanwhile_runs_beside(
    cur: sqlite3.Cursor, count: int
) -> None:
    """``before`` runs first (on the inserting thread when the batch is staged):
    it sees none of the new rows; ``meanwhile`` may run while it does."""
    cur.execute("INSERT INTO t (a) VALUES ('old')")
    seen: list[tuple[str, int]] = []
    looked = threading.Event()

    def before() -> None:
        count_now = cur.execute("SELECT count(*) FROM t").fetchone()[0]
        seen.append((threading.current_thread().name, count_now))
        looked.set()

    def meanwhile() -> str:
        assert looked.wait(10)  # a staged batch: the read is on the other thread
        return "next"

    columns = {"a": [f"v{i}" for i in range(count)]} if count else {}
    got = Dialect().insert_columns(cur, "t", columns, meanwhile, commit=True, before=before)
    assert got == "next"
    assert [n for _, n in seen] == [1]
    staged = count >= 256
    assert (seen[0][0] == "massreach-insert") is staged
    assert not cur.connection.in_transaction
    assert len(rows(cur)) == count + 1


def test_a_failing_insert_does_not_commit(cur: sqlite3.Cursor) -> None:
    cur.execute("INSERT INTO t (n) VALUES (-1)")
    with pytest.raises(sqlite3.IntegrityError):
        Dialect().insert_columns(cur, "t", {"n": [*range(299), 5]}, lambda: None, commit=True)
    assert cur.connection.in_transaction
    cur.execute("ROLLBACK")
    assert rows(cur) == []


@given(width=st.integers(1, 40), count=st.integers(256, 4600))
def test_staging_fills_whole_and_partial_statements(width: int, count: int) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    columns = ", ".join(f"c{i}" for i in range(width))
    conn.execute(f"CREATE TABLE w (id INTEGER PRIMARY KEY, {columns})")
    data = {f"c{i}": [f"{i}:{r}" for r in range(count)] for i in range(width)}
    cursor = conn.cursor()
    cursor.execute("BEGIN")
    Dialect().insert_columns(cursor, "w", data, lambda: None, commit=True)
    stored = conn.execute(f"SELECT {columns} FROM w ORDER BY id").fetchall()
    assert stored == list(zip(*data.values(), strict=True))
    conn.close()


def test_the_switch_interval_is_short_beside_a_staged_insert_and_then_restored(
    cur: sqlite3.Cursor,
) -> None:
    before = sys.getswitchinterval()
    seen: list[float] = []
    Dialect().insert_columns(
        cur, "t", {"n": list(range(300))}, lambda: seen.append(sys.getswitchinterval())
    )
    assert seen == [min(before, QUICK_SWITCH_SECONDS)]
    assert sys.getswitchinterval() == before
    with pytest.raises(ValueError, match="boom"):
        Dialect().insert_columns(
            cur,
            "t",
            {"n": list(range(300, 600))},
            lambda: (_ for _ in ()).throw(ValueError("boom")),
        )
    assert sys.getswitchinterval() == before
