"""What differs between the SQL backends, kept small: the :class:`Dialect`.

The SQL of massreach is written once (in the ``sql_*`` modules) with ``?``
placeholders and a handful of substitutions asked from the dialect:

- placeholders: ``?`` (SQLite) or ``%s`` (psycopg), translated once per statement text;
- column types: ``{id}``, ``{ts}``, ``{json}``, ``{blob}``, ``{bool}``, ``{real}``;
- JSON: a JSON parameter (``jp``), the elements of a JSON array as a table with a
  ``value`` column, a text member of a JSON object, the variables of a contact;
- ``IN`` lists as one parameter (a JSON array on SQLite, an array on PostgreSQL);
- row locks: ``FOR UPDATE [SKIP LOCKED]`` on PostgreSQL, nothing on SQLite (where a
  writing transaction is ``BEGIN IMMEDIATE`` and holds the whole database);
- a few bulk operations: allocating ids, bulk inserts, a transaction-scoped lock on a key.

Times are ``TIMESTAMPTZ`` on PostgreSQL and integer microseconds since the Unix
epoch (UTC) on SQLite: exact to the microsecond like ``TIMESTAMPTZ``, sorted and
compared as the instants are, and 8 bytes instead of 32 for ISO text, which keeps
rows small (a distribution writes ``assigned_at`` into every record it hands out).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import repeat
from operator import itemgetter
from typing import Any, Protocol, TypeVar

from massreach.process_settings import ProcessSetting

__all__ = [
    "Cursor",
    "Dialect",
    "decode_json",
    "encode_fields",
    "encode_json",
    "encode_tags",
    "percent_placeholders",
]


class Cursor(Protocol):
    """The part of a DB-API cursor massreach uses (sqlite3 and psycopg alike)."""

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""

    def execute(self, sql: Any, params: Any = ..., /) -> Any:
        """Run one statement."""

    def executemany(self, sql: Any, params: Any, /) -> Any:
        """Run one statement once per parameter row."""

    def fetchone(self) -> Any:
        """The next row, or None."""

    def fetchall(self) -> list[Any]:
        """Every remaining row."""


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_quote: Callable[[str], str] = json.encoder.encode_basestring


@lru_cache(maxsize=4096)
def encode_tags(tags: tuple[str, ...]) -> str:
    """A contact's tags as a JSON array, exactly as :func:`encode_json` writes it
    (built directly and remembered: an import gives most rows the same tags)."""
    return "[" + ",".join(map(_quote, tags)) + "]"


def encode_fields(fields: Mapping[str, str]) -> str:
    """A contact's custom fields (text values) as a JSON object, exactly as
    :func:`encode_json` writes it (built directly: this runs once per imported row)."""
    return "{" + ",".join([_quote(k) + ":" + _quote(v) for k, v in fields.items()]) + "}"


def encode_fields_column(rows: Sequence[Mapping[str, str]]) -> list[str]:
    """``[encode_fields(f) for f in rows]``, for the rows of an import batch: the rows
    whose fields have the first row's names, in its order (in a file, nearly all),
    are written with one ``%`` template, each value quoted a column at a time."""
    count = len(rows)
    if count == 0:
        return []
    shapes = list(map(tuple, rows))
    names = shapes[0]
    if not names:
        return ["{}"] * count if shapes.count(names) == count else list(map(encode_fields, rows))
    template = "{" + ",".join(_quote(name).replace("%", "%%") + ":%s" for name in names) + "}"
    same = shapes.count(names) == count
    plain = rows if same else [r for r, shape in zip(rows, shapes, strict=True) if shape == names]
    quoted = [list(map(_quote, map(itemgetter(name), plain))) for name in names]
    written = list(map(template.__mod__, zip(*quoted, strict=True)))
    if same:
        return written
    taken = iter(written)
    return [
        next(taken) if shape == names else encode_fields(row)
        for row, shape in zip(rows, shapes, strict=True)
    ]


def encode_field_columns(
    names: Sequence[str], columns: Sequence[Sequence[str]], count: int
) -> list[str]:
    """``encode_fields({n: v for n, v in zip(names, row) if v})`` of each of the
    ``count`` rows given as one column of values per name ("" for none): the rows
    with every value are written with one ``%`` template, each value quoted a column
    at a time."""
    if not names:
        return ["{}"] * count
    if all(map(all, columns)):  # every value written (C-level tests, a column at a time)
        if _nothing_to_escape(columns):
            # Each value is then written as it is between quotes: the rows are
            # joined from the columns and the text around them, with no call per value.
            pieces: list[Iterable[str]] = []
            before = "{"
            for name, column in zip(names, columns, strict=True):
                pieces += (repeat(before + _quote(name) + ':"', count), column)
                before = '",'
            pieces.append(repeat('"}', count))
            return list(map("".join, zip(*pieces, strict=True)))
        quoted = [list(map(_quote, column)) for column in columns]
        template = "{" + ",".join(_quote(n).replace("%", "%%") + ":%s" for n in names) + "}"
        return list(map(template.__mod__, zip(*quoted, strict=True)))
    template = "{" + ",".join(_quote(name).replace("%", "%%") + ":%s" for name in names) + "}"
    rows = list(zip(*columns, strict=True))
    full = list(map(all, rows))
    return [
        template % tuple(map(_quote, row))
        if whole
        else encode_fields({n: v for n, v in zip(names, row, strict=True) if v})
        for row, whole in zip(rows, full, strict=True)
    ]


#: The bytes JSON writes escaped in a string (:func:`json.encoder.encode_basestring`:
#: the quote, the backslash and control characters; not ASCII-escaped here).
_ESCAPED_BYTES = bytes(range(0x20)) + b'"\\'


def _nothing_to_escape(columns: Sequence[Sequence[str]]) -> bool:
    """Whether no value of ``columns`` has a character JSON escapes: one C-level
    pass over the values' UTF-8 bytes (a byte below 0x80 in UTF-8 is always that
    character itself), which deletes the escaped bytes and compares the lengths."""
    data = "".join(map("".join, columns)).encode("utf-8", "surrogatepass")
    return len(data.translate(None, _ESCAPED_BYTES)) == len(data)


def _texts_json(values: Sequence[Any]) -> str | None:
    """``encode_json(values)`` for a list of texts none of which JSON escapes
    (phone numbers, e-mail keys …), joined with no call per value; None for any
    other list. One C-level pass checks the joined text: the only characters JSON
    escapes in it are the quotes of the joints."""
    if not values:
        return None
    try:
        joined = '","'.join(values)
    except TypeError:  # not all texts
        return None
    data = joined.encode("utf-8", "surrogatepass")
    if len(data) - len(data.translate(None, _ESCAPED_BYTES)) != 2 * (len(values) - 1):
        return None
    return '["' + joined + '"]'


def encode_json(value: Any) -> str:
    """JSON text as stored (UTF-8, compact, not ASCII-escaped). Tags are stored in
    exactly this form, which :meth:`Dialect.any_tag` relies on."""
    if not value:
        return "[]" if isinstance(value, list | tuple) else _ENCODER.encode(value)
    return _ENCODER.encode(value)


def decode_json(value: Any) -> Any:
    """A stored JSON value back in Python (PostgreSQL gives it parsed already)."""
    if value is None or not isinstance(value, str | bytes):
        return value
    return json.loads(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _literal(value: int | str) -> str:
    """A number or text as a SQL literal (quotes doubled: the only escape SQL has)."""
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


#: Python's switch interval while a staged insert runs beside ``meanwhile``.
QUICK_SWITCH_SECONDS = 0.0005
#: A short switch interval while the inserting thread runs beside ``meanwhile``:
#: every statement of that thread ends by taking Python's lock back, and while
#: ``meanwhile`` computes, that takes a whole switch interval (5 ms by default),
#: several times a batch. Put back when the last staged insert in the process ends.
_QUICK_SWITCHING = ProcessSetting(
    sys.getswitchinterval,
    sys.setswitchinterval,
    lambda interval: min(interval, QUICK_SWITCH_SECONDS),
)


def _wait_for(mover: threading.Thread, cur: Cursor) -> None:
    """Wait until ``mover`` is done with the connection. Interrupted (Ctrl-C), stop
    its statement and still wait: the connection must be free before the caller
    rolls back, and then the interruption goes on."""
    try:
        mover.join()
    except BaseException:
        connection = getattr(cur, "connection", None)
        if connection is not None:
            connection.interrupt()
        while mover.is_alive():
            mover.join(0.05)
        raise


@lru_cache(maxsize=4096)
def _from_micros(value: int) -> datetime:
    """A stored time (microseconds since the epoch) as a datetime in UTC. Remembered:
    the rows of one claim or page mostly share their times (due, lease, update)."""
    return _EPOCH + timedelta(microseconds=value)


#: Batches from this many rows on are staged (see :meth:`Dialect.insert_columns`).
_STAGE_MIN_ROWS = 256
#: Rows per statement that fills a staging table, largest first (bounded by
#: SQLite's parameters): the rows of a batch go in the fewest statements of these
#: sizes, so that every statement text is one of a few, prepared once per process.
_STAGE_STATEMENT_ROWS = (2000, 500, 100, 20, 5, 1)


def _stage_rows(cur: Cursor, stage: str, columns: Sequence[Sequence[Any]], count: int) -> None:
    """Fill ``stage`` with ``count`` rows given column by column: multi-row
    ``INSERT … VALUES (…), (…)`` statements cost about half of an ``executemany``
    of one row per step, the more rows a statement the less."""
    width = len(columns)
    flat: list[Any] = [None] * (count * width)
    for index, column in enumerate(columns):
        flat[index::width] = column
    limit = 999  # SQLite's smallest default number of parameters
    connection = getattr(cur, "connection", None)
    if connection is not None and hasattr(connection, "getlimit"):
        limit = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    row = f"({', '.join('?' * width)})"
    start = 0
    for rows in _STAGE_STATEMENT_ROWS:
        if rows > 1 and rows * width > limit:
            continue  # (one row a statement always: more columns than parameters fail)
        step = rows * width
        if len(flat) - start >= step:
            sql = f"INSERT INTO {stage} VALUES {', '.join([row] * rows)}"
            while len(flat) - start >= step:
                cur.execute(sql, flat[start : start + step])
                start += step


T = TypeVar("T")


@lru_cache(maxsize=2048)
def percent_placeholders(sql: str) -> str:
    """``?`` placeholders as ``%s`` (and literal ``%`` doubled), for psycopg."""
    return sql.replace("%", "%%").replace("?", "%s")


class Dialect:
    """The SQLite flavour; ``postgres_backend.PostgresDialect`` overrides what differs."""

    name = "sqlite"
    #: Appended to a SELECT that must lock the rows it reads until commit.
    for_update = ""
    #: Appended to a SELECT whose locked rows other workers must skip.
    skip_locked = ""
    #: The JSON parameter marker (a cast where the server needs one).
    jp = "?"
    #: The column naming one physical row (to delete one of several equal rows).
    row_id = "rowid"
    #: Whether :meth:`insert_columns` can end the caller's transaction beside the
    #: insert (``commit=True``): SQLite commits on the inserting thread.
    commits_beside_insert = True
    #: Errors of the driver (turned into StorageError when nothing else catches them).
    driver_errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    types: Mapping[str, str] = {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "ts": "INTEGER",
        "json": "TEXT",
        "blob": "BLOB",
        "bool": "INTEGER",
        "real": "REAL",
        "bigint": "INTEGER",
    }

    # -- statement text ------------------------------------------------------------
    def sql(self, text: str) -> str:
        """The statement as the driver wants it (``?`` placeholders here)."""
        return text

    def ddl(self, text: str) -> str:
        """A schema statement with its ``{type}`` names filled in."""
        return text.format_map(self.types)

    # -- values --------------------------------------------------------------------
    def ts(self, value: datetime | None) -> Any:
        """A time as a parameter: microseconds since the epoch (exact integers)."""
        if value is None:
            return None
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    def from_ts(self, value: Any) -> datetime | None:
        """A stored time back as an aware datetime in UTC."""
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return _from_micros(int(value))

    def many(self, values: Iterable[Any]) -> Any:
        """A list of values as the ONE parameter of :meth:`in_` (a JSON array)."""
        listed = values if isinstance(values, list | tuple) else list(values)
        return _texts_json(listed) or encode_json(listed)

    def in_(self, column: str) -> str:
        """``column`` is one of the values of a :meth:`many` parameter."""
        return f"{column} IN (SELECT value FROM json_each(?))"

    def rows_matching(self, selected: str, table: str, keyed: Sequence[str]) -> str:
        """``SELECT selected FROM table`` of the rows whose column ``keyed[i]`` is one
        of the values of parameter ``i`` (a :meth:`many` parameter), each row once,
        ordered by the first selected column.

        SQLite: a join of the table with each parameter's values (the column's index
        is probed once per value), the parts combined by ``UNION``. An ``IN`` list
        of 5,000 values is first made into a temporary index, which costs three
        times the probes themselves."""
        parts = [
            f"SELECT DISTINCT {selected} FROM {table} JOIN json_each(?) AS k ON {column} = k.value"
            for column in keyed
        ]
        return " UNION ".join(parts) + " ORDER BY 1"

    # -- JSON expressions ------------------------------------------------------------
    def elements(self, expr: str, alias: str) -> str:
        """The text elements of a JSON array as a table ``alias(value)``."""
        return f"json_each({expr}) AS {alias}"

    def any_tag(self, expr: str, tags: Sequence[str]) -> tuple[str, list[Any]]:
        """``expr`` (a tags array) holds one of ``tags``. On SQLite a tag is found as
        text, which is exact because tags are always stored by :func:`encode_tags`:
        an element starts after ``[`` or ``,`` with an unescaped quote (which can
        occur nowhere inside a JSON string) and ends before ``,`` or ``]``."""
        parts: list[str] = []
        params: list[Any] = []
        for tag in dict.fromkeys(tags):
            quoted = _quote(tag)
            for before, after in (("[", "]"), ("[", ","), (",", ","), (",", "]")):
                parts.append(f"instr({expr}, ?) > 0")
                params.append(before + quoted + after)
        return "(" + " OR ".join(parts) + ")", params

    def contains(self, expr: str) -> str:
        """``expr`` contains the text of a parameter."""
        return f"instr({expr}, ?) > 0"

    def member(self, expr: str) -> str:
        """The text of member ``?`` (a parameter given by :meth:`member_key`) of a JSON object."""
        return f"json_extract({expr}, ?)"

    def member_key(self, key: str) -> str:
        """The parameter naming a member for :meth:`member`."""
        return '$."' + key.replace('"', '""') + '"'

    def fold(self, expr: str) -> str:
        """``expr`` compared case-insensitively (``str.casefold`` on SQLite)."""
        return f"mr_fold({expr})"

    def fold_value(self, value: str) -> str:
        """A value folded the way :meth:`fold` folds a column."""
        return value.casefold()

    def variables(self, alias: str) -> str:
        """A contact's template variables: its custom fields, then its named
        attributes where no custom field has their name (null members are dropped
        when the variables are read)."""
        pairs = ", ".join(
            f"'$.{name}', {alias}.{name}"
            for name in ("name", "email", "phone", "description", "gender", "crm_id")
        )
        return f"json_insert({alias}.fields, {pairs})"

    def rows_as_json(self, sql: str, names: Sequence[str]) -> str:
        """A query giving ONE value: the rows of ``sql`` (columns ``names``) as a
        JSON array of arrays (TEXT, INTEGER, REAL and NULL values only)."""
        listed = ", ".join(f"k.{name}" for name in names)
        return f"SELECT json_group_array(json_array({listed})) FROM ({sql}) k"

    # -- bulk operations -------------------------------------------------------------
    def allocate_ids(self, cur: Cursor, table: str, count: int) -> list[int]:
        """``count`` fresh ids for ``table`` (inside a writing transaction)."""
        if count == 0:
            return []
        cur.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0),"
            f" coalesce((SELECT max(id) FROM {table}), 0))",
            (table,),
        )
        start = int(cur.fetchone()[0]) + 1
        return list(range(start, start + count))

    def insert_columns(
        self,
        cur: Cursor,
        table: str,
        columns: Mapping[str, Sequence[Any]],
        meanwhile: Callable[[], T] | None = None,
        *,
        commit: bool = False,
        before: Callable[[], None] | None = None,
    ) -> T | None:
        """Insert rows given column by column (all columns equally long; a
        ``range`` is a run of ids or positions), then return ``meanwhile()``.

        ``commit`` (only where :attr:`commits_beside_insert`): the insert is the
        last write of the caller's transaction, which is committed right after it,
        on the inserting thread (writing the pages to disk is then off this
        thread too). An error of the insert leaves the transaction uncommitted.
        ``before`` (with ``commit``) runs on that thread too, first: a read of
        what was stored before these rows (the import's next duplicate lookup),
        while ``meanwhile`` may already run on this thread.

        Binding a parameter costs the same whether it is NULL or not, and it is
        most of the time an insert takes: a column that is NULL in every row is
        left out, and one with the same number or text in every row is written
        into the statement as a literal.

        SQLite, with ``meanwhile`` and a large batch: the rows go first into a
        temporary table (cheap: no index, no constraint), then ONE ``INSERT …
        SELECT`` moves them into ``table`` on a second thread. That statement is
        one step of SQLite, during which Python's lock is free, so ``meanwhile``
        (an import normalising its next batch) runs at the same time on this
        thread. Nothing else uses the connection meanwhile: the caller holds the
        writing transaction (and ``meanwhile`` must not touch storage)."""
        names: list[str] = []
        values: list[str] = []  # SQL per name: a literal, or "?" when bound
        bound: list[Sequence[Any]] = []
        count = 0
        for name, column in columns.items():
            count = len(column)
            first = column[0] if count else None
            if (
                count
                and type(column) is not range
                and type(first) in (int, str, type(None))
                and column[-1] == first  # most columns end here, without a pass
                and column.count(first) == count
            ):
                if first is None:
                    continue
                if isinstance(first, int) or "\x00" not in first:
                    names.append(name)
                    values.append(_literal(first))
                    continue
            names.append(name)
            values.append("?")
            bound.append(column)
        if names and meanwhile is not None and count >= _STAGE_MIN_ROWS:
            return self._insert_staged(
                cur, table, names, values, bound, count, meanwhile, commit=commit, before=before
            )
        if commit and before is not None:
            before()
        if count and not names:  # every column NULL in every row
            cur.executemany(f"INSERT INTO {table} DEFAULT VALUES", [()] * count)
        elif count:
            params = list(zip(*bound, strict=True)) if bound else [()] * count
            cur.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(values)})", params
            )
        if commit:
            cur.execute("COMMIT")
        return meanwhile() if meanwhile is not None else None

    def _insert_staged(  # noqa: PLR0917 - the parts of insert_columns
        self,
        cur: Cursor,
        table: str,
        names: list[str],
        values: list[str],
        bound: list[Sequence[Any]],
        count: int,
        meanwhile: Callable[[], T],
        *,
        commit: bool,
        before: Callable[[], None] | None,
    ) -> T:
        """:meth:`insert_columns` of ``count`` rows through a temporary table."""
        picked: list[str] = []
        staged: list[Sequence[Any]] = []
        columns = iter(bound)
        for value in values:
            if value != "?":
                picked.append(value)
                continue
            column = next(columns)
            if type(column) is range and column.step == 1:
                picked.append(f"{column.start - 1} + s.rowid")  # rowids count from 1
                continue
            for index, earlier in enumerate(staged):
                if earlier == column:  # e.g. e-mail keys equal to the addresses
                    picked.append(f"s.c{index}")
                    break
            else:
                picked.append(f"s.c{len(staged)}")
                staged.append(column)
        width = max(len(staged), 1)
        stage = f"temp.mr_stage_{width}"
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS mr_stage_{width}"
            f" ({', '.join(f'c{i}' for i in range(width))})"
        )
        # Emptied here, not after the move: every statement of the second thread
        # waits for Python's lock once more (up to the switch interval) to return.
        cur.execute(f"DELETE FROM {stage}")
        _stage_rows(cur, stage, staged or [[None] * count], count)
        sql = f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(picked)} FROM {stage} s"
        failure: list[BaseException] = []

        def move() -> None:
            try:
                if commit and before is not None:
                    before()  # inside the transaction, before the rows are moved
                cur.execute(sql)
                if commit:
                    cur.execute("COMMIT")
            except BaseException as exc:
                failure.append(exc)

        mover = threading.Thread(target=move, name="massreach-insert")
        with _QUICK_SWITCHING.changed():
            mover.start()
            try:
                result = meanwhile()
            finally:
                _wait_for(mover, cur)
            if failure:
                cur.execute(f"DELETE FROM {stage}")
                raise failure[0]
        return result

    def scratch_tables(self, cur: Cursor) -> tuple[str, str]:
        """Two empty scratch tables for :meth:`distribute`, by name: the ranked
        records ``(rn, id)`` and the agents' ranges ``(hi, agent)``."""
        for table, columns in (
            ("mr_ranked", "rn INTEGER PRIMARY KEY, id INTEGER NOT NULL"),
            ("mr_ranges", "hi INTEGER PRIMARY KEY, agent TEXT NOT NULL"),
        ):
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({columns})")
        cur.execute("DELETE FROM temp.mr_ranked")
        cur.execute("DELETE FROM temp.mr_ranges")
        return "temp.mr_ranked", "temp.mr_ranges"

    def rank(self, table: str, source: str, order: str) -> str:
        """Number the ids of ``source`` (``FROM … WHERE …`` over ``contacts c``) in
        ``order`` into ``table``. SQLite numbers them by the rowids of an ordered
        insert into the emptied table (1, 2, 3 … in the order the rows arrive),
        which costs a quarter less than ``row_number() OVER (ORDER BY …)``."""
        return f"INSERT INTO {table} (id) SELECT c.id {source} ORDER BY {order}"

    def tune_bulk(self, cur: Cursor) -> None:
        """Settings for a statement that sorts or updates a whole list (none here)."""

    def lock_key(self, cur: Cursor, key: str) -> None:
        """Hold a lock on ``key`` until the transaction ends (SQLite: the whole
        database is already held by ``BEGIN IMMEDIATE``)."""

    def is_unique_violation(self, exc: BaseException) -> bool:
        """True when ``exc`` is a UNIQUE constraint failure."""
        return "UNIQUE constraint failed" in str(exc)
