"""``sqlite:///path.db``: the embedded default storage backend.

One connection per storage object, guarded by a lock (a storage may be shared by
threads); writes are ``BEGIN IMMEDIATE`` transactions, so a writer holds the
database from its first statement and several processes on one file queue up
(``busy_timeout``) instead of failing half-way. The database runs in WAL mode with
``synchronous=NORMAL`` and foreign keys on; it is migrated when opened. Its WAL
checkpoints run on a second connection beside the writes
(:mod:`massreach.adapters.sqlite_checkpoints`).

Original import files are kept in a folder beside the database,
``<db>.files/plan-<id><suffix>`` (a temporary folder for ``sqlite:///:memory:``).

URLs: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``,
``sqlite:///:memory:``.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from massreach.adapters.sql_base import Tx, translate_errors
from massreach.adapters.sql_dialect import Dialect
from massreach.adapters.sql_schema import migrate
from massreach.adapters.sql_store import SqlStorage
from massreach.adapters.sqlite_checkpoints import CHECKPOINT_BYTES, Checkpointer
from massreach.errors import StorageError
from massreach.markers import hookimpl
from massreach.storage.protocol import Storage, StorageFactory

__all__ = ["SqliteStorage", "SqliteStorageFactory", "sqlite_path"]

#: How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_SECONDS = 30.0
#: Page cache per connection (KiB): bulk imports touch index pages all over. At
#: 1,000,000 contacts the phone and e-mail indexes take about 57 MB; with 48 MB
#: instead of 32 an import of that size ran 7-23% faster, peak RSS 127 MB.
CACHE_KIB = 48 * 1024

SQLITE = Dialect()


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:`` URL (``:memory:`` for an in-memory database)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "sqlite":
        raise StorageError(
            f"{url!r} is not a sqlite: URL.", code="storage.bad_url", details={"url": url}
        )
    path = unquote(parts.netloc + parts.path)
    if parts.netloc == "" and path.startswith("/"):
        path = path[1:]  # sqlite:///rel.db → rel.db, sqlite:////abs.db → /abs.db
    if not path:
        raise StorageError(
            f"The SQLite URL {url!r} names no file; write sqlite:///path/to/file.db.",
            code="storage.bad_url",
            details={"url": url},
        )
    return path


def _fold(value: str | None) -> str | None:
    return None if value is None else value.casefold()


class SqliteStorage(SqlStorage):
    """The storage protocol on one SQLite file."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = SQLITE
        self._lock = threading.RLock()
        self.path = sqlite_path(url)
        self._memory = self.path == ":memory:"
        self._conn = self._connect()
        self._checkpoints = (
            None
            if self._memory
            else Checkpointer(self.path, busy_timeout_ms=int(BUSY_TIMEOUT_SECONDS * 1000))
        )
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        if self._memory:
            self._scratch = tempfile.TemporaryDirectory(prefix="massreach-sqlite-")
            self.files_dir = Path(self._scratch.name)
        else:
            self.files_dir = Path(self.path + ".files")
        try:
            migrate(self._write, self.dialect)
        except BaseException:
            self.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        if not self._memory:
            target = Path(self.path)
            if target.is_dir() or not target.parent.resolve().is_dir():
                raise StorageError(
                    f"Cannot open the SQLite database {self.path!r}: "
                    + ("it is a folder." if target.is_dir() else "its folder does not exist."),
                    code="storage.cannot_open",
                    file=self.path,
                    details={"path": self.path},
                )
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_SECONDS,
            )
        except sqlite3.Error as exc:
            raise StorageError(
                f"Cannot open the SQLite database {self.path!r}: {exc}",
                code="storage.cannot_open",
                file=self.path,
                details={"path": self.path, "error": str(exc)},
            ) from exc
        try:
            for pragma in (
                "journal_mode = WAL",
                "synchronous = NORMAL",
                "wal_autocheckpoint = 0",  # checkpoints run beside the writes
                # The log file is cut back to this size when it starts over, so that
                # its size tells how much it holds (see sqlite_checkpoints).
                f"journal_size_limit = {CHECKPOINT_BYTES}",
                f"busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}",
                "foreign_keys = ON",
                f"cache_size = -{CACHE_KIB}",
                "temp_store = MEMORY",
            ):
                conn.execute(f"PRAGMA {pragma}")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StorageError(
                f"The file {self.path!r} is not a massreach SQLite database ({exc}).",
                code="storage.not_a_database",
                file=self.path,
                details={"path": self.path, "error": str(exc)},
            ) from exc
        conn.create_function("mr_fold", 1, _fold, deterministic=True)
        return conn

    # -- transactions ----------------------------------------------------------------
    @contextmanager
    def _transaction(self, begin: str, *, foreign_keys: bool = True) -> Iterator[Tx]:
        with self._lock, translate_errors(self.dialect, "SQLite"):
            cur = self._conn.cursor()
            if not foreign_keys:  # set outside a transaction only: SQLite ignores it inside
                cur.execute("PRAGMA foreign_keys = OFF")
            try:
                cur.execute(begin)
                try:
                    yield Tx(cur, self.dialect)
                except BaseException:
                    if self._conn.in_transaction:
                        cur.execute("ROLLBACK")
                    raise
                if self._conn.in_transaction:  # an import batch may have committed already
                    cur.execute("COMMIT")
            finally:
                if not foreign_keys and not self._conn.in_transaction:
                    cur.execute("PRAGMA foreign_keys = ON")
            if begin != "BEGIN" and self._checkpoints is not None:  # after a write
                self._checkpoints.after_write(self._conn)

    def _write(self) -> AbstractContextManager[Tx]:
        """A ``BEGIN IMMEDIATE`` transaction: the database is ours until it ends.
        (A write forgets a duplicate lookup made beside the last import batch.)"""
        self._prefetched = None
        return self._transaction("BEGIN IMMEDIATE")

    def _read(self) -> AbstractContextManager[Tx]:
        """A deferred transaction: one consistent snapshot for its statements."""
        return self._transaction("BEGIN")

    def _checked_write(self) -> AbstractContextManager[Tx]:
        """:meth:`_write` with SQLite's foreign key checks off: an import batch
        reads and locks its plan and list rows first, and the check of each
        inserted contact's list is a lookup per row (a tenth of the insert)."""
        self._prefetched = None
        return self._transaction("BEGIN IMMEDIATE", foreign_keys=False)

    def close(self) -> None:
        """Close the connection (and remove the files of an in-memory database)."""
        with self._lock:
            if self._checkpoints is not None:
                self._checkpoints.close()
            self._conn.close()
            if self._scratch is not None:
                self._scratch.cleanup()

    # -- original files: a folder beside the database ------------------------------------
    def _stored_file(self, plan_id: int, suffix: str) -> Path:
        return self.files_dir / f"plan-{plan_id}{suffix}"

    def _keep_file(self, tx: Tx, plan_id: int, source: Path, suffix: str) -> None:
        """Copy the file into ``<db>.files/``."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, self._stored_file(plan_id, suffix))

    def _file_path(self, plan_id: int, suffix: str) -> AbstractContextManager[Path]:
        """The stored copy itself."""
        return nullcontext(self._stored_file(plan_id, suffix))

    def _drop_file(self, plan_id: int, suffix: str) -> None:
        """Remove the stored copy."""
        self._stored_file(plan_id, suffix).unlink(missing_ok=True)


class SqliteStorageFactory:
    """Opens ``sqlite:`` URLs."""

    schemes: tuple[str, ...] = ("sqlite",)

    def open(self, url: str, options: Mapping[str, str]) -> Storage:
        """Open (and migrate) the database file."""
        return SqliteStorage(url)


if TYPE_CHECKING:  # mypy proves that both classes satisfy the protocols

    def _conforms(
        storage: SqliteStorage, factory: SqliteStorageFactory
    ) -> tuple[Storage, StorageFactory]:
        return storage, factory


@hookimpl(trylast=True)
def massreach_register_storage(register: Callable[[StorageFactory], None]) -> None:
    """Register the SQLite backend as a default a plugin may override."""
    register(SqliteStorageFactory())
