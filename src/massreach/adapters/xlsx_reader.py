"""The XLSX table reader (openpyxl, read-only) and what every Excel reader shares.

Shared by the XLSX, XLS and calamine readers, so that they give identical rows:
:func:`excel_cell_text` (one cell value to text), :func:`select_sheet` (which
sheet to read) and :class:`ExcelTable` (row numbering, trimming of trailing empty
cells, turning any parser failure into :class:`InvalidFile`).

openpyxl reads with ``read_only=True, data_only=True``: rows stream from the
sheet's XML (shared strings are held in memory), a formula reads as its cached
value, and a formula saved without one (as openpyxl itself writes them) reads as
``""``. Error cells (``#N/A``, ``#DIV/0!``) read as ``""``, as calamine gives them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Callable, Generator, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from massreach.errors import InvalidFile, MassreachError
from massreach.markers import hookimpl
from massreach.tables import ReadOptions, StreamingTable, TableInfo, TableReader, file_label

__all__ = [
    "ExcelTable",
    "OpenpyxlReader",
    "corrupt_file",
    "excel_cell_text",
    "passes_through",
    "select_sheet",
]


_EXACT_INT = 2**53


def excel_cell_text(value: object) -> str:
    """The text of one Excel cell value, identical for every Excel reader.

    Integral numbers print without a fraction or exponent (``84912345678``), other
    floats as the shortest decimal (``12.5``, ``0.00001``), dates as ISO
    (``2026-11-23``, with ``T08:30:00`` when not midnight; milliseconds when any),
    times as ``08:30:00``, durations as ``26:00:00``, booleans as ``TRUE``/``FALSE``,
    empty cells as ``""``; strings are returned as they are.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        if -_EXACT_INT <= value <= _EXACT_INT:
            return str(value)
        value = float(value)  # as Excel itself (and readers giving floats) holds it
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _time_text(value)
    if isinstance(value, dt.timedelta):
        return _duration_text(value)
    return str(value)


def _float_text(value: float) -> str:
    if not math.isfinite(value):
        return repr(value)
    if value.is_integer():
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def _round_ms(value: dt.datetime) -> dt.datetime:
    micro = value.microsecond
    rounded = round(micro, -3)
    if rounded == micro:
        return value
    return value.replace(microsecond=0) + dt.timedelta(microseconds=rounded)


def _datetime_text(value: dt.datetime) -> str:
    value = _round_ms(value.replace(tzinfo=None))
    if value.hour == value.minute == value.second == value.microsecond == 0:
        return value.date().isoformat()
    spec = "seconds" if value.microsecond == 0 else "milliseconds"
    return value.isoformat(timespec=spec)


def _time_text(value: dt.time) -> str:
    full = _round_ms(dt.datetime.combine(dt.date(2000, 1, 1), value.replace(tzinfo=None)))
    spec = "seconds" if full.microsecond == 0 else "milliseconds"
    return full.time().isoformat(timespec=spec)


def _duration_text(value: dt.timedelta) -> str:
    millis = round(value.total_seconds() * 1000)
    sign = "-" if millis < 0 else ""
    seconds, ms = divmod(abs(millis), 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"{text}.{ms:03d}" if ms else text


def select_sheet(
    names: Sequence[str], visible: Sequence[bool], wanted: str | int | None, label: str
) -> int:
    """Index of the sheet to read: ``wanted`` by name or 0-based index, else the
    first visible one. Raises :class:`InvalidFile` (``file.sheet_not_found``,
    ``file.no_sheets``)."""
    if not names:
        raise InvalidFile("the workbook has no worksheets", code="file.no_sheets", file=label)
    if wanted is None:
        return next((i for i, shown in enumerate(visible) if shown), 0)
    if isinstance(wanted, int):
        if 0 <= wanted < len(names):
            return wanted
    else:
        if wanted in names:
            return list(names).index(wanted)
        folded = [n.strip().casefold() for n in names]
        if wanted.strip().casefold() in folded:
            return folded.index(wanted.strip().casefold())
        if wanted.strip().isdigit() and int(wanted) < len(names):
            return int(wanted)
    raise InvalidFile(
        f"the workbook has no sheet {wanted!r}; its sheets are: {', '.join(names)}",
        code="file.sheet_not_found",
        file=label,
        details={"sheet": wanted, "sheets": list(names)},
    )


def corrupt_file(label: str, exc: BaseException, row: int | None = None) -> InvalidFile:
    """The error for a workbook its parser cannot read."""
    reason = f"{type(exc).__name__}: {exc}"[:300]
    return InvalidFile(
        "the workbook is damaged or not a real Excel file and cannot be read"
        f" ({reason}); open it in Excel and save it again",
        code="file.corrupt",
        file=label,
        row=row,
        details={"reason": reason},
    )


def passes_through(exc: BaseException) -> bool:
    """Exceptions never turned into InvalidFile: ours, and interpreter control flow."""
    return isinstance(exc, MassreachError | KeyboardInterrupt | SystemExit | GeneratorExit)


class ExcelTable(StreamingTable):
    """An open worksheet: a reader supplies raw rows; this numbers and converts them.

    ``raw_rows(start)`` yields one sequence of cell values per sheet row from row
    ``start`` on (no gaps); ``cell_text`` turns one value into text; ``release``
    closes the workbook.
    """

    def __init__(
        self,
        info: TableInfo,
        label: str,
        hint: int | None,
        *,
        raw_rows: Callable[[int], Iterator[Sequence[Any]]],
        release: Callable[[], None],
        cell_text: Callable[[Any], str] = excel_cell_text,
    ) -> None:
        super().__init__(info)
        self._label = label
        self._hint = hint
        self._raw_rows = raw_rows
        self._release_workbook = release
        self._cell_text = cell_text

    @property
    def total_rows_hint(self) -> int | None:
        """The sheet's row count as the file states it, when it does."""
        return self._hint

    def _rows(self, start: int) -> Generator[tuple[int, list[str]]]:
        number = start - 1
        text = self._cell_text
        try:
            for raw in self._raw_rows(start):
                number += 1
                cells = [text(value) for value in raw]
                while cells and not cells[-1]:
                    cells.pop()
                yield number, cells
        except BaseException as exc:  # parsers of untrusted files raise anything
            if passes_through(exc):
                raise
            raise corrupt_file(self._label, exc, number + 1) from exc

    def _release(self) -> None:
        with contextlib.suppress(Exception):  # a damaged workbook may fail to close
            self._release_workbook()


def _openpyxl_cell(cell: Any) -> str:
    if cell.data_type == "e":
        return ""
    return excel_cell_text(cell.value)


class OpenpyxlReader:
    """Reads ``.xlsx`` workbooks with openpyxl in read-only, cached-values mode."""

    name = "openpyxl"
    formats: tuple[str, ...] = ("xlsx",)
    priority = 0

    def open(
        self, path: Path, options: ReadOptions, *, display_name: str | None = None
    ) -> ExcelTable:
        """Open the chosen sheet of ``path`` (default: the first visible one)."""
        import openpyxl

        label = file_label(path, display_name)
        try:
            book = openpyxl.load_workbook(
                Path(path), read_only=True, data_only=True, keep_links=False
            )
        except BaseException as exc:
            if passes_through(exc):
                raise
            raise corrupt_file(label, exc) from exc
        try:
            sheets = book.worksheets
            names = [ws.title for ws in sheets]
            visible = [getattr(ws, "sheet_state", "visible") == "visible" for ws in sheets]
            sheet = sheets[select_sheet(names, visible, options.sheet, label)]
            hint = sheet.max_row if isinstance(sheet.max_row, int) else None
            reset = getattr(sheet, "reset_dimensions", None)
            if reset is not None:
                reset()  # a wrong <dimension> must not cut rows off
        except BaseException as exc:
            book.close()
            if passes_through(exc):
                raise
            raise corrupt_file(label, exc) from exc

        def raw_rows(start: int) -> Iterator[Sequence[Any]]:
            return sheet.iter_rows(min_row=start)

        info = TableInfo(format="xlsx", reader=self.name, sheet=sheet.title, sheets=tuple(names))
        return ExcelTable(
            info, label, hint, raw_rows=raw_rows, release=book.close, cell_text=_openpyxl_cell
        )


@hookimpl(trylast=True)
def massreach_register_readers(register: Callable[[TableReader], None]) -> None:
    """Register the built-in XLSX reader."""
    register(OpenpyxlReader())
