"""WAL checkpoints of a SQLite storage, run beside its writes instead of inside them.

In WAL mode SQLite copies the log back into the database file (a checkpoint)
from inside the ``COMMIT`` that makes the log pass 1,000 pages, and with
``synchronous=NORMAL`` that copy ends with two fsyncs: the writer waits for the
disk. During an import that is every batch (about 2 µs a row here, most of it
waiting). A storage's own connection therefore has automatic checkpoints off
(``wal_autocheckpoint = 0``), and once a write has left the log at
:data:`CHECKPOINT_BYTES` or more, :class:`Checkpointer` runs a ``PASSIVE``
checkpoint on a second connection, on its own thread, while the writer goes on.
A passive checkpoint never blocks readers or writers; what it cannot copy yet is
copied by the next one. The log starts over only when a write begins after a
checkpoint has copied all of it, so once it reaches :data:`LOG_LIMIT_BYTES` the
writer checkpoints itself, as SQLite would, before writing again. The file is cut
back to :data:`CHECKPOINT_BYTES` when the log starts over (``journal_size_limit``
on the storage's connection): else it would keep its largest size, and the writer
would go on checkpointing before every write. Durability is
unchanged: a commit is in the log either way; closing the storage waits for a
running checkpoint, and SQLite checkpoints the rest when its last connection
closes.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

__all__ = ["CHECKPOINT_BYTES", "LOG_LIMIT_BYTES", "Checkpointer"]

log = logging.getLogger(__name__)

#: Log size from which a checkpoint is started: SQLite's own default, 1,000 pages of 4 KiB.
CHECKPOINT_BYTES = 1000 * 4096
#: Log size from which the writer checkpoints itself: the background checkpoints
#: seldom finish between two writes, and only then can the log start over.
LOG_LIMIT_BYTES = 16 * CHECKPOINT_BYTES


class Checkpointer:
    """Passive checkpoints of the database at ``path`` on a background thread:
    at most one runs at a time, and a request made while one runs is served
    by another run right after it."""

    def __init__(self, path: str, *, busy_timeout_ms: int) -> None:
        self.path = path
        self._wal = path + "-wal"
        self._busy_timeout_ms = busy_timeout_ms
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    def after_write(self, writer: sqlite3.Connection) -> None:
        """Start a checkpoint (or ask for one more) when the log has grown enough;
        past :data:`LOG_LIMIT_BYTES`, checkpoint on ``writer`` itself before it
        writes again (the log starts over at its next write)."""
        try:
            size = os.stat(self._wal).st_size
        except OSError:
            return
        if size < CHECKPOINT_BYTES:
            return
        if size >= LOG_LIMIT_BYTES:
            self.wait()
            try:
                writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:  # the write itself is committed
                log.warning("SQLite checkpoint of %s failed: %s", self.path, exc)
            return
        with self._lock:
            if self._closed:
                return
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._thread = threading.Thread(
                target=self._run, name="massreach-checkpoint", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                try:
                    self._checkpoint()
                except sqlite3.Error as exc:  # the next write asks again
                    log.warning("SQLite checkpoint of %s failed: %s", self.path, exc)
                with self._lock:
                    if not self._again or self._closed:
                        self._thread = None
                        return
                    self._again = False
        except BaseException:
            with self._lock:
                self._thread = None
            raise

    def _checkpoint(self) -> None:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._conn = conn
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def wait(self) -> None:
        """Until no checkpoint runs (none is started meanwhile by this call)."""
        while True:
            with self._lock:
                thread = self._thread
            if thread is None or not thread.is_alive():
                return
            thread.join()

    def close(self) -> None:
        """Wait for a running checkpoint, then close the second connection."""
        with self._lock:
            self._closed = True
        self.wait()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
