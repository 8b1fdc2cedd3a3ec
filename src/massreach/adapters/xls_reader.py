"""The XLS table reader: legacy Excel 97-2003 workbooks through xlrd.

xlrd loads one sheet at a time (``on_demand=True``); an XLS sheet holds at most
65,536 rows, so memory is bounded by the format. Cells convert exactly as in the
other Excel readers (:func:`~massreach.adapters.xlsx_reader.excel_cell_text`);
date serials convert the way openpyxl and calamine convert them.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from massreach.adapters.xlsx_reader import (
    ExcelTable,
    corrupt_file,
    excel_cell_text,
    passes_through,
    select_sheet,
)
from massreach.errors import InvalidFile, MassreachError
from massreach.markers import hookimpl
from massreach.tables import ReadOptions, TableInfo, TableReader, file_label

__all__ = ["XlrdReader", "xls_date"]

_EMPTY, _TEXT, _NUMBER, _DATE, _BOOLEAN, _ERROR, _BLANK = range(7)
_MS_PER_DAY = 86_400_000
_EPOCHS = (dt.datetime(1899, 12, 30), dt.datetime(1904, 1, 1))
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")


def xls_date(serial: float, datemode: int) -> dt.datetime | dt.time | float:
    """An Excel date serial as a datetime (a time below 1.0); the number itself
    when it is no valid date. Same rounding (milliseconds) and 1900 leap-year
    convention as openpyxl."""
    if serial < 0:
        return serial
    day, fraction = divmod(serial, 1)
    millis = round(fraction * _MS_PER_DAY)
    if serial < 1 and millis < _MS_PER_DAY:
        return (dt.datetime.min + dt.timedelta(milliseconds=millis)).time()
    if datemode == 0 and serial < 60:
        day += 1
    try:
        return _EPOCHS[1 if datemode else 0] + dt.timedelta(days=day, milliseconds=millis)
    except OverflowError:
        return serial


def _row_values(types: Sequence[int], values: Sequence[Any], datemode: int) -> list[Any]:
    out: list[Any] = []
    for kind, value in zip(types, values, strict=False):
        if kind in (_NUMBER, _TEXT):
            out.append(value)
        elif kind == _DATE:
            out.append(xls_date(value, datemode))
        elif kind == _BOOLEAN:
            out.append(bool(value))
        else:  # empty, blank, error
            out.append("")
    return out


class _Sink(io.StringIO):
    """Where xlrd's warnings go (it would print them to stdout)."""

    def write(self, text: str) -> int:
        return len(text)


def _is_encrypted(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            tail = b""
            while chunk := handle.read(1 << 20):
                if _ENCRYPTED_MARK in tail + chunk:
                    return True
                tail = chunk[-len(_ENCRYPTED_MARK) :]
    except OSError:
        return False
    return False


def _open_error(path: Path, label: str, exc: BaseException) -> MassreachError:
    if "encrypted" in str(exc).lower() or _is_encrypted(path):
        return InvalidFile(
            "the workbook is password-protected; save it without a password",
            code="file.encrypted",
            file=label,
        )
    return corrupt_file(label, exc)


class XlrdReader:
    """Reads legacy ``.xls`` workbooks with xlrd."""

    name = "xlrd"
    formats: tuple[str, ...] = ("xls",)
    priority = 0

    def open(
        self, path: Path, options: ReadOptions, *, display_name: str | None = None
    ) -> ExcelTable:
        """Open the chosen sheet of ``path`` (default: the first visible one)."""
        import xlrd

        path = Path(path)
        label = file_label(path, display_name)
        try:
            book = xlrd.open_workbook(
                str(path), on_demand=True, ragged_rows=True, logfile=_Sink(), verbosity=0
            )
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # xlrd raises anything on damaged files
            raise _open_error(path, label, exc) from exc
        try:
            names = list(book.sheet_names())
            shown = list(getattr(book, "_sheet_visibility", []) or [])
            visible = [i >= len(shown) or shown[i] == 0 for i in range(len(names))]
            sheet = book.sheet_by_index(select_sheet(names, visible, options.sheet, label))
            nrows = int(sheet.nrows)
        except BaseException as exc:
            book.release_resources()
            if passes_through(exc):
                raise
            raise corrupt_file(label, exc) from exc
        datemode = int(book.datemode)

        def raw_rows(start: int) -> Iterator[Sequence[Any]]:
            for index in range(start - 1, nrows):
                yield _row_values(sheet.row_types(index), sheet.row_values(index), datemode)

        info = TableInfo(format="xls", reader=self.name, sheet=sheet.name, sheets=tuple(names))
        return ExcelTable(
            info,
            label,
            nrows,
            raw_rows=raw_rows,
            release=book.release_resources,
            cell_text=excel_cell_text,
        )


@hookimpl(trylast=True)
def massreach_register_readers(register: Callable[[TableReader], None]) -> None:
    """Register the built-in XLS reader."""
    register(XlrdReader())
