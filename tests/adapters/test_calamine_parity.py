"""calamine gives exactly the rows openpyxl (XLSX) and xlrd (XLS) give, for the same files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwt
from hypothesis import given
from hypothesis import strategies as st

from massreach.adapters.xls_reader import XlrdReader
from massreach.adapters.xlsx_reader import OpenpyxlReader
from massreach.tables import ReadOptions, TableReader

pytest.importorskip("python_calamine")

from massreach.adapters.calamine_reader import MAX_DENSE_CELLS, CalamineReader

Grid = list[list[Any]]

FIXED: Grid = [
    ["phone", "họ tên", "amount", "when", "vip", "note"],
    [84912345678, "Nguyễn Văn An", 12.5, dt.datetime(2026, 11, 23), True, None],
    [84912345678.0, "张三 手机号码", 0.00001, dt.datetime(2026, 11, 23, 8, 30), False, "x"],
    ["0912345678", "Żółć", -3, dt.datetime(2026, 1, 2, 23, 59, 59), None, "  spaced  "],
    [None, None, None, None, None, None],
    [1e15, 2.675, -0.5, dt.time(8, 30, 15), 0, "=not a formula, text"],
    [None, None, None, None, None, "last"],
]


def write_xlsx(path: Path, grid: Grid, top: int = 0, left: int = 0) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for r, row in enumerate(grid, 1 + top):
        for c, value in enumerate(row, 1 + left):
            if value is not None:
                cell = sheet.cell(row=r, column=c)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"  # "=..." stays text, not a formula
    book.save(path)
    return path


_STYLES = {
    dt.datetime: xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS"),
    dt.time: xlwt.easyxf(num_format_str="HH:MM:SS"),
}


def write_xls(path: Path, grid: Grid, top: int = 0, left: int = 0) -> Path:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    for r, row in enumerate(grid, top):
        for c, value in enumerate(row, left):
            if value is None:
                continue
            style = _STYLES.get(type(value))
            if style is None:
                sheet.write(r, c, value)
            else:
                sheet.write(r, c, value, style)
    book.save(str(path))
    return path


def rows_of(reader: TableReader, path: Path) -> list[tuple[int, list[str]]]:
    with reader.open(path, ReadOptions()) as table:
        rows = list(table.rows())
    while rows and not rows[-1][1]:  # trailing blank rows may be yielded or dropped
        rows.pop()
    return rows


def assert_parity(path: Path, reference: TableReader) -> list[tuple[int, list[str]]]:
    expected = rows_of(reference, path)
    assert rows_of(CalamineReader(), path) == expected
    return expected


def test_fixed_xlsx_parity(tmp_path: Path) -> None:
    rows = assert_parity(write_xlsx(tmp_path / "f.xlsx", FIXED, top=2, left=1), OpenpyxlReader())
    assert rows[2] == (3, ["", "phone", "họ tên", "amount", "when", "vip", "note"])
    assert rows[3][1][1] == "84912345678"


def test_fixed_xls_parity(tmp_path: Path) -> None:
    rows = assert_parity(write_xls(tmp_path / "f.xls", FIXED, top=2, left=1), XlrdReader())
    assert rows[4][1][1:5] == ["84912345678", "张三 手机号码", "0.00001", "2026-11-23T08:30:00"]


def test_calamine_reports_like_the_others(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "i.xlsx", FIXED)
    with CalamineReader().open(path, ReadOptions(sheet=0)) as table:
        assert (table.info.format, table.info.reader, table.info.sheet) == (
            "xlsx",
            "calamine",
            "Sheet",
        )
        assert table.total_rows_hint == len(FIXED)
        assert [n for n, _ in table.rows(start=3)][:2] == [3, 4]
    with CalamineReader().open(write_xls(tmp_path / "i.xls", FIXED), ReadOptions()) as table:
        assert table.info.format == "xls"


def test_calamine_empty_sheet(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    assert rows_of(CalamineReader(), path) == rows_of(OpenpyxlReader(), path) == []


_TEXT = st.text(
    st.characters(exclude_categories=["Cc", "Cs", "Co", "Cn"], exclude_characters="_"),
    max_size=12,
)
_SECONDS = st.integers(0, 86399).map(lambda s: dt.timedelta(seconds=s))
_VALUES = st.one_of(
    st.none(),
    st.integers(-(10**15), 10**15),
    st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False),
    st.floats(-1e-3, 1e-3, allow_nan=False, allow_infinity=False),
    st.booleans(),
    _TEXT,
    st.builds(
        lambda day, sec: dt.datetime.combine(day, dt.time()) + sec,
        st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 30)),
        _SECONDS,
    ),
    _SECONDS.map(lambda sec: (dt.datetime.min + sec).time()),
)
_GRIDS = st.lists(st.lists(_VALUES, min_size=1, max_size=6), min_size=1, max_size=8)


@given(grid=_GRIDS, top=st.integers(0, 3), left=st.integers(0, 3))
def test_generated_workbooks_read_identically(
    tmp_path_factory: pytest.TempPathFactory, grid: Grid, top: int, left: int
) -> None:
    folder = tmp_path_factory.mktemp("parity")
    assert_parity(write_xlsx(folder / "g.xlsx", grid, top, left), OpenpyxlReader())
    assert_parity(write_xls(folder / "g.xls", grid, top, left), XlrdReader())


def test_sheets_too_big_for_a_dense_grid_go_to_openpyxl(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active["A1"] = "phone"
    book.active["AD150000"] = "far away"  # a 30 x 150,000 grid: more than the limit
    path = tmp_path / "sparse.xlsx"
    book.save(path)
    assert MAX_DENSE_CELLS < 30 * 150_000
    with CalamineReader().open(path, ReadOptions()) as table:
        assert table.info.reader == "openpyxl"
        rows = list(table.rows())
    assert rows[0] == (1, ["phone"])
    assert rows[-1] == (150_000, [""] * 29 + ["far away"])


def test_grid_is_measured_from_the_cells_not_the_dimension(tmp_path: Path) -> None:
    import re
    import zipfile

    source = write_xlsx(tmp_path / "dim.xlsx", FIXED)

    def rewrite(target: Path, change: Callable[[bytes], bytes]) -> Path:
        with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename.startswith("xl/worksheets/"):
                    data = change(data)
                dst.writestr(info, data)
        return target

    no_dimension = rewrite(tmp_path / "nodim.xlsx", lambda d: re.sub(rb"<dimension[^>]*>", b"", d))
    lying = rewrite(tmp_path / "lying.xlsx", lambda d: d.replace(b'ref="A1:F7"', b'ref="A1"'))
    unplaced = rewrite(tmp_path / "noref.xlsx", lambda d: re.sub(rb'<c r="[A-Z]+\d+"', b"<c", d))
    for path in (no_dimension, lying):
        with CalamineReader().open(path, ReadOptions()) as table:
            assert table.info.reader == "calamine", path.name
            assert drop_blank(list(table.rows())) == rows_of(OpenpyxlReader(), source)
    with CalamineReader().open(unplaced, ReadOptions()) as table:
        assert table.info.reader == "openpyxl"  # cells without "r" cannot be measured
        assert next(iter(table.rows())) == (1, FIXED[0])


def drop_blank(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    while rows and not rows[-1][1]:
        rows.pop()
    return rows
