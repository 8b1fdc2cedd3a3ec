"""The base every part of the SQL storage stands on: transactions and errors.

A backend (SQLite, PostgreSQL) provides two context managers, :meth:`SqlBase._write`
(one writing transaction: ``BEGIN IMMEDIATE`` on SQLite, a pooled connection on
PostgreSQL) and :meth:`SqlBase._read`, each yielding a :class:`Tx`: a cursor that
speaks the shared SQL (``?`` placeholders) and translates it for its dialect.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from massreach.adapters.sql_dialect import Cursor, Dialect
from massreach.errors import ConflictError, MassreachError, NotFound, StorageError

__all__ = ["SqlBase", "Tx", "translate_errors"]


class Tx:
    """A cursor inside one transaction, taking the shared SQL text."""

    __slots__ = ("cur", "d")

    def __init__(self, cur: Cursor, d: Dialect) -> None:
        self.cur = cur
        self.d = d

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute one statement; returns its row count."""
        self.cur.execute(self.d.sql(sql), tuple(params))
        return int(self.cur.rowcount)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Execute and fetch every row."""
        self.cur.execute(self.d.sql(sql), tuple(params))
        return list(self.cur.fetchall())

    def row(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute and fetch the first row (None if there is none)."""
        self.cur.execute(self.d.sql(sql), tuple(params))
        found = self.cur.fetchall()
        return found[0] if found else None

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute and fetch the first column of the first row (None if no row)."""
        found = self.row(sql, params)
        return None if found is None else found[0]

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Execute once per parameter row; returns the total row count."""
        if not rows:
            return 0
        self.cur.executemany(self.d.sql(sql), rows)
        return int(self.cur.rowcount)


@contextmanager
def translate_errors(d: Dialect, where: str) -> Iterator[None]:
    """Turn a driver error escaping a transaction into a :class:`StorageError`."""
    try:
        yield
    except MassreachError:
        raise
    except d.driver_errors as exc:
        raise StorageError(
            f"The {where} database failed: {exc}".strip(),
            code="storage.failed",
            details={"backend": d.name, "error": str(exc).strip()},
        ) from exc


class SqlBase:
    """What the SQL mixins share: the dialect, the URL and the transactions."""

    url: str
    dialect: Dialect

    def _write(self) -> AbstractContextManager[Tx]:
        """One writing transaction (committed when the block ends without error)."""
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Tx]:
        """One reading transaction."""
        raise NotImplementedError

    def _checked_write(self) -> AbstractContextManager[Tx]:
        """A writing transaction whose new rows' parents the caller reads and locks
        first, itself (an import batch: its plan and list rows). A backend may
        skip the database's own per-row foreign key lookups in it."""
        return self._write()

    # -- small shared helpers ------------------------------------------------------
    def _conflict(self, exc: BaseException, error: ConflictError) -> BaseException:
        """``error`` when ``exc`` is a UNIQUE violation, else ``exc`` itself."""
        return error if self.dialect.is_unique_violation(exc) else exc

    @staticmethod
    def _no_list(list_id: int) -> NotFound:
        return NotFound(
            f"There is no list with id {list_id}.",
            code="list.not_found",
            details={"list_id": list_id},
        )

    @staticmethod
    def _duplicate_phone(list_id: int | None = None) -> ConflictError:
        return ConflictError(
            "This phone number is already in the list; a phone may appear only once per list.",
            code="contact.duplicate_phone",
            details={} if list_id is None else {"list_id": list_id},
        )
