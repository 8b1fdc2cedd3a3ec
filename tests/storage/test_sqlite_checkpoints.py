"""SQLite checkpoints beside the writes: the writer never checkpoints inside its COMMIT,
a second connection copies the log back, and the log stays bounded."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from massreach.adapters import sqlite_checkpoints
from massreach.adapters.sqlite_checkpoints import Checkpointer
from massreach.adapters.sqlite_storage import SqliteStorage
from massreach.model import ContactDraft, ContactQuery
from massreach.testing.storage_base import make_list

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def write_contacts(storage: SqliteStorage, list_id: int, first: int, count: int) -> None:
    """About 1.5 MB of log per 5,000 contacts."""
    storage.add_contacts(
        [
            ContactDraft(
                list_id=list_id,
                phone=f"+8490{n:07d}",
                email=f"user{n}@example.vn",
                fields={"note": "x" * 120, "n": str(n)},
            )
            for n in range(first, first + count)
        ],
        now=NOW,
    )


def checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "massreach-checkpoint"]


@pytest.fixture
def storage(tmp_path: Path):
    opened = SqliteStorage(f"sqlite:///{tmp_path / 'c.db'}")
    yield opened
    opened.close()


def test_the_writing_connection_never_checkpoints_itself(storage: SqliteStorage) -> None:
    assert storage._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0


def test_a_large_write_is_copied_back_by_the_second_connection(
    storage: SqliteStorage, tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    vip = make_list(storage, "vip", NOW)
    before = db.stat().st_size
    write_contacts(storage, vip.id, 0, 20_000)  # a log past CHECKPOINT_BYTES
    assert (tmp_path / "c.db-wal").stat().st_size >= sqlite_checkpoints.CHECKPOINT_BYTES
    assert storage._checkpoints is not None
    storage._checkpoints.wait()
    # The pages are in the database file now, not only in the log.
    assert db.stat().st_size > before + sqlite_checkpoints.CHECKPOINT_BYTES
    assert storage.count_contacts(ContactQuery(list_id=vip.id)) == 20_000


def test_past_the_log_limit_the_writer_checkpoints_before_writing_again(
    storage: SqliteStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_checkpoints, "CHECKPOINT_BYTES", 1024)
    monkeypatch.setattr(sqlite_checkpoints, "LOG_LIMIT_BYTES", 1024)
    started: list[str] = []
    monkeypatch.setattr(Checkpointer, "_run", lambda self: started.append("thread"))
    db, wal = tmp_path / "c.db", tmp_path / "c.db-wal"
    vip = make_list(storage, "vip", NOW)
    write_contacts(storage, vip.id, 0, 5_000)
    assert started == []  # no second thread: the writer did it itself
    copied = db.stat().st_size
    assert copied > 1_000_000
    log_size = wal.stat().st_size
    write_contacts(storage, vip.id, 5_000, 10)
    # The log started over from its beginning: the file did not grow.
    assert wal.stat().st_size <= log_size
    assert storage.count_contacts(ContactQuery(list_id=vip.id)) == 5_010


def test_a_log_that_starts_over_is_cut_back_so_its_size_tells_what_it_holds(
    storage: SqliteStorage, tmp_path: Path
) -> None:
    """Else the file keeps its largest size, and past the log limit the writer
    would checkpoint before every write (a 1,000,000-row import: 2.3 s of them)."""
    limit = sqlite_checkpoints.CHECKPOINT_BYTES
    assert storage._conn.execute("PRAGMA journal_size_limit").fetchone()[0] == limit
    wal = tmp_path / "c.db-wal"
    vip = make_list(storage, "vip", NOW)
    write_contacts(storage, vip.id, 0, 20_000)
    assert wal.stat().st_size > limit
    assert storage._checkpoints is not None
    storage._checkpoints.wait()
    storage._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # all of it copied
    write_contacts(storage, vip.id, 20_000, 10)  # the log starts over
    assert wal.stat().st_size <= limit
    assert storage.count_contacts(ContactQuery(list_id=vip.id)) == 20_010


def test_closing_waits_for_the_checkpoint_and_its_connection(tmp_path: Path) -> None:
    storage = SqliteStorage(f"sqlite:///{tmp_path / 'c.db'}")
    vip = make_list(storage, "vip", NOW)
    write_contacts(storage, vip.id, 0, 20_000)
    checkpoints = storage._checkpoints
    storage.close()
    assert checkpoint_threads() == []
    assert checkpoints is not None and checkpoints._conn is None
    reopened = SqliteStorage(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        assert reopened.count_contacts(ContactQuery(list_id=vip.id)) == 20_000
    finally:
        reopened.close()


def test_an_in_memory_database_has_no_checkpoints() -> None:
    storage = SqliteStorage("sqlite:///:memory:")
    try:
        assert storage._checkpoints is None
    finally:
        storage.close()


def test_a_failing_checkpoint_is_logged_and_the_next_request_still_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file that is not a database: the checkpoint fails on its thread, says so in
    the log, and leaves the checkpointer ready for the next request."""
    path = tmp_path / "not-a.db"
    path.write_bytes(b"plain text, not SQLite " * 400)
    Path(str(path) + "-wal").write_bytes(b"\0" * sqlite_checkpoints.CHECKPOINT_BYTES)
    checkpoints = Checkpointer(str(path), busy_timeout_ms=100)
    with caplog.at_level(logging.WARNING, logger=sqlite_checkpoints.__name__):
        for _ in range(2):
            checkpoints.after_write(writer=None)  # type: ignore[arg-type]
            checkpoints.wait()
    checkpoints.close()
    failures = [r for r in caplog.records if "checkpoint" in r.getMessage()]
    assert len(failures) == 2
    assert str(path) in failures[0].getMessage()
    assert checkpoint_threads() == []
