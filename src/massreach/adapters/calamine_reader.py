"""The calamine table reader: XLSX and XLS through python-calamine (Rust), optional.

Installed with the ``massreach[calamine]`` extra, it takes over both Excel
formats (priority 10 beats the built-in readers' 0) and reads about 13 times
faster than openpyxl. Without python-calamine the hook registers nothing.

Rows are identical to the openpyxl/xlrd readers': calamine gives numbers as
floats, which :func:`~massreach.adapters.xlsx_reader.excel_cell_text` prints
without a fraction when integral; leading empty columns, which calamine leaves
out, are put back so that cells keep their column. Unlike openpyxl, calamine
holds the whole sheet in memory (in Rust) while it is read.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from massreach.adapters.xlsx_reader import (
    ExcelTable,
    corrupt_file,
    passes_through,
    select_sheet,
)
from massreach.markers import hookimpl
from massreach.tables import ReadOptions, TableInfo, TableReader, file_label, sniff_format

__all__ = ["CalamineReader", "calamine_available"]


def calamine_available() -> bool:
    """True when python-calamine can be imported."""
    return importlib.util.find_spec("python_calamine") is not None


class CalamineReader:
    """Reads ``.xlsx`` and ``.xls`` workbooks with python-calamine."""

    name = "calamine"
    formats: tuple[str, ...] = ("xlsx", "xls")
    priority = 10

    def open(
        self, path: Path, options: ReadOptions, *, display_name: str | None = None
    ) -> ExcelTable:
        """Open the chosen sheet of ``path`` (default: the first visible one)."""
        import python_calamine as pc

        path = Path(path)
        label = file_label(path, display_name)
        fmt = sniff_format(path, display_name=display_name)
        try:
            book = pc.CalamineWorkbook.from_path(str(path))
        except BaseException as exc:  # calamine raises its own errors, or panics
            if passes_through(exc):
                raise
            raise corrupt_file(label, exc) from exc
        try:
            sheets = [
                meta for meta in book.sheets_metadata if meta.typ == pc.SheetTypeEnum.WorkSheet
            ]
            names = [meta.name for meta in sheets]
            visible = [meta.visible == pc.SheetVisibleEnum.Visible for meta in sheets]
            sheet = book.get_sheet_by_name(
                names[select_sheet(names, visible, options.sheet, label)]
            )
            top_left = sheet.start
            end = sheet.end
        except BaseException as exc:
            book.close()
            if passes_through(exc):
                raise
            raise corrupt_file(label, exc) from exc
        pad: list[Any] = [""] * (top_left[1] if top_left else 0)

        def raw_rows(start: int) -> Iterator[Sequence[Any]]:
            if top_left is None:  # an empty sheet
                return
            first_data_row = top_left[0]  # calamine yields this many empty rows first
            for index, row in enumerate(islice(sheet.iter_rows(), start - 1, None), start - 1):
                yield pad + row if pad and index >= first_data_row else row

        hint = end[0] + 1 if end else 0
        info = TableInfo(format=fmt, reader=self.name, sheet=sheet.name, sheets=tuple(names))
        return ExcelTable(info, label, hint, raw_rows=raw_rows, release=book.close)


@hookimpl(trylast=True)
def massreach_register_readers(register: Callable[[TableReader], None]) -> None:
    """Register the calamine reader when python-calamine is installed."""
    if calamine_available():
        register(CalamineReader())
