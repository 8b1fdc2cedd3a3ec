"""XLSX (openpyxl) and XLS (xlrd) readers, and the one Excel cell conversion."""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlwt
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils.datetime import from_excel

from massreach.adapters import calamine_reader, csv_reader, xls_reader, xlsx_reader
from massreach.adapters.xls_reader import XlrdReader, xls_date
from massreach.adapters.xlsx_reader import OpenpyxlReader, excel_cell_text
from massreach.errors import InvalidFile
from massreach.tables import ReaderRegistry, ReadOptions, TableReader, sniff_format


def build_xlsx(path: Path, *, hidden_first: bool = False) -> Path:
    book = openpyxl.Workbook()
    if hidden_first:
        book.active.title = "Hidden"
        book.active["A1"] = "lookup data"
        book.active.sheet_state = "hidden"
        sheet = book.create_sheet("Kontakty")
    else:
        sheet = book.active
        sheet.title = "Kontakty"
    sheet.append(["phone", "name", "amount", "when", "vip", "formula", "note"])
    sheet.append([84912345678, "Nguyễn Văn An", 12.5, dt.datetime(2026, 11, 23), True, "=1+1"])
    sheet.append([84912345678.0, "张三", 0.00001, dt.datetime(2026, 11, 23, 8, 30), False])
    sheet.append(["0912345678", "Żółć", -3, dt.date(2026, 1, 2), None, '=A2&"x"', "  spaced  "])
    sheet["A6"] = 1e20  # a gap: row 5 is empty
    sheet["B6"] = 2.675
    sheet["C6"] = dt.time(8, 30)
    book.create_sheet("Second")["B2"] = "second sheet"
    book.save(path)
    return path


def patch_sheet_xml(path: Path, member: str, replacements: dict[str, str]) -> None:
    """Rewrite a worksheet's XML (to add cached formula values openpyxl never writes)."""
    with zipfile.ZipFile(path) as source:
        items = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in items:
            if info.filename != member:
                target.writestr(info, data)
                continue
            text = data.decode()
            for old, new in replacements.items():
                assert old in text, old
                text = text.replace(old, new)
            target.writestr(info, text.encode())


def build_xls(path: Path) -> Path:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Kontakty")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    datetime_style = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS")
    time_style = xlwt.easyxf(num_format_str="HH:MM")
    for col, title in enumerate(["phone", "name", "amount", "when", "vip"]):
        sheet.write(0, col, title)
    sheet.write(1, 0, 84912345678)
    sheet.write(1, 1, "Nguyễn Văn An")
    sheet.write(1, 2, 12.5)
    sheet.write(1, 3, dt.datetime(2026, 11, 23), date_style)
    sheet.write(1, 4, True)
    sheet.write(2, 0, 84912345678.0)
    sheet.write(2, 1, "手机号码 żółć")
    sheet.write(2, 2, 0.00001)
    sheet.write(2, 3, dt.datetime(2026, 11, 23, 8, 30), datetime_style)
    sheet.write(2, 4, False)
    sheet.write(3, 0, "0912345678")
    sheet.write(3, 2, -3)
    sheet.write(3, 3, dt.time(8, 30), time_style)
    sheet.write(5, 1, "after a gap")
    book.add_sheet("Second").write(1, 1, "second sheet")
    book.save(str(path))
    return path


def read(reader: TableReader, path: Path, **options: object) -> list[tuple[int, list[str]]]:
    with reader.open(path, ReadOptions(**options)) as table:  # type: ignore[arg-type]
        return list(table.rows())


def drop_blank_tail(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    while rows and not any(rows[-1][1]):
        rows = rows[:-1]
    return rows


def test_xlsx_numbers_dates_booleans_and_uncached_formulas(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "contacts.xlsx")
    assert sniff_format(path) == "xlsx"
    with OpenpyxlReader().open(path, ReadOptions()) as table:
        assert table.info.format == "xlsx"
        assert (table.info.reader, table.info.sheet) == ("openpyxl", "Kontakty")
        assert table.info.sheets == ("Kontakty", "Second")
        assert table.total_rows_hint == 6
        rows = drop_blank_tail(list(table.rows()))
    assert rows == [
        (1, ["phone", "name", "amount", "when", "vip", "formula", "note"]),
        (2, ["84912345678", "Nguyễn Văn An", "12.5", "2026-11-23", "TRUE"]),  # =1+1: no cache
        (3, ["84912345678", "张三", "0.00001", "2026-11-23T08:30:00", "FALSE"]),
        (4, ["0912345678", "Żółć", "-3", "2026-01-02", "", "", "  spaced  "]),
        (5, []),
        (6, ["100000000000000000000", "2.675", "08:30:00"]),
    ]


def test_xlsx_formulas_read_their_cached_values(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "cached.xlsx")
    patch_sheet_xml(
        path,
        "xl/worksheets/sheet1.xml",
        {
            '<c r="F2"><f>1+1</f><v /></c>': '<c r="F2"><f>1+1</f><v>2</v></c>'
            '<c r="G2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
            '<c r="F4"><f>A2&amp;"x"</f><v /></c>': '<c r="F4" t="str"><f>A2&amp;"x"</f>'
            "<v>84912345678x</v></c>",
        },
    )
    rows = read(OpenpyxlReader(), path)
    assert rows[1][1][5:] == ["2"]  # the error cell (#DIV/0!) reads as "", then trimmed
    assert rows[3][1][5] == "84912345678x"


def test_xlsx_wrong_dimension_does_not_cut_rows(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "dim.xlsx")
    patch_sheet_xml(path, "xl/worksheets/sheet1.xml", {'<dimension ref="A1:G6" />': ""})
    patch_sheet_xml(
        path, "xl/worksheets/sheet1.xml", {"<sheetViews>": '<dimension ref="A1:B2"/><sheetViews>'}
    )
    rows = drop_blank_tail(read(OpenpyxlReader(), path))
    assert rows[-1][0] == 6
    assert rows[-1][1][0] == "100000000000000000000"


def test_xlsx_sheet_choice(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "hidden.xlsx", hidden_first=True)
    reader = OpenpyxlReader()
    with reader.open(path, ReadOptions()) as table:
        assert table.info.sheet == "Kontakty"  # the first *visible* sheet
    assert read(reader, path, sheet=0) == [(1, ["lookup data"])]
    assert read(reader, path, sheet="second")[1] == (2, ["", "second sheet"])
    assert read(reader, path, sheet=2)[1] == (2, ["", "second sheet"])
    with pytest.raises(InvalidFile) as caught:
        reader.open(path, ReadOptions(sheet="Nope"), display_name="up.xlsx")
    assert caught.value.code == "file.sheet_not_found"
    assert caught.value.details["sheets"] == ["Hidden", "Kontakty", "Second"]
    assert caught.value.file == "up.xlsx"


def test_xlsx_trailing_empty_rows_are_blank_or_absent(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["phone", "name"])
    sheet.append(["601", "Ann"])
    for row in range(3, 23):  # 20 styled but empty rows, as Excel leaves them
        sheet.cell(row=row, column=1).number_format = "0.00"
    path = tmp_path / "tail.xlsx"
    book.save(path)
    rows = read(OpenpyxlReader(), path)
    assert rows[:2] == [(1, ["phone", "name"]), (2, ["601", "Ann"])]
    assert all(not cells for _, cells in rows[2:])


def test_xlsx_rows_from_start(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "start.xlsx")
    with OpenpyxlReader().open(path, ReadOptions()) as table:
        assert [n for n, _ in table.rows(start=4)][:3] == [4, 5, 6]
        assert next(iter(table.rows()))[0] == 1


def test_xls_numbers_dates_and_strings(tmp_path: Path) -> None:
    path = build_xls(tmp_path / "legacy.xls")
    assert sniff_format(path) == "xls"
    with XlrdReader().open(path, ReadOptions()) as table:
        assert (table.info.format, table.info.reader, table.info.sheet) == (
            "xls",
            "xlrd",
            "Kontakty",
        )
        assert table.total_rows_hint == 6
        rows = list(table.rows())
    assert rows == [
        (1, ["phone", "name", "amount", "when", "vip"]),
        (2, ["84912345678", "Nguyễn Văn An", "12.5", "2026-11-23", "TRUE"]),
        (3, ["84912345678", "手机号码 żółć", "0.00001", "2026-11-23T08:30:00", "FALSE"]),
        (4, ["0912345678", "", "-3", "08:30:00"]),
        (5, []),
        (6, ["", "after a gap"]),
    ]
    assert read(XlrdReader(), path, sheet="Second") == [(1, []), (2, ["", "second sheet"])]
    assert [n for n, _ in read(XlrdReader(), path)][-1] == 6


def test_damaged_workbooks_raise_invalid_file(tmp_path: Path) -> None:
    good = build_xlsx(tmp_path / "good.xlsx").read_bytes()
    truncated = tmp_path / "cut.xlsx"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(InvalidFile) as caught:
        OpenpyxlReader().open(truncated, ReadOptions(), display_name="cut.xlsx")
    assert (caught.value.code, caught.value.file) == ("file.corrupt", "cut.xlsx")

    ole = tmp_path / "garbage.xls"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8)
    with pytest.raises(InvalidFile) as caught:
        XlrdReader().open(ole, ReadOptions())
    assert caught.value.code == "file.corrupt"

    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600 + "EncryptedPackage".encode("utf-16-le")
    )
    with pytest.raises(InvalidFile) as caught:
        XlrdReader().open(locked, ReadOptions())
    assert caught.value.code == "file.encrypted"

    not_excel = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(not_excel, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    with pytest.raises(InvalidFile) as caught:
        sniff_format(not_excel)
    assert caught.value.code == "file.unsupported_format"


def test_all_hooks_register_and_calamine_takes_over_when_installed(tmp_path: Path) -> None:
    registry = ReaderRegistry()
    for module in (calamine_reader, xlsx_reader, xls_reader, csv_reader):
        module.massreach_register_readers(registry.register)
    expected = "calamine" if calamine_reader.calamine_available() else "openpyxl"
    assert registry.for_format("xlsx").name == expected
    assert registry.for_format("xls").name == "xlrd"  # calamine may abort on damaged XLS
    assert registry.for_format("csv").name == "csv"
    with registry.open(build_xls(tmp_path / "r.xls")) as table:
        assert table.info.format == "xls"
        assert list(table.rows())[1][1][0] == "84912345678"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("  as is ", "  as is "),
        (True, "TRUE"),
        (False, "FALSE"),
        (84912345678, "84912345678"),
        (84912345678.0, "84912345678"),
        (1e20, "100000000000000000000"),
        (12.5, "12.5"),
        (1e-05, "0.00001"),
        (-0.0, "0"),
        (2**60, str(int(float(2**60)))),
        (dt.datetime(2026, 11, 23), "2026-11-23"),
        (dt.datetime(2026, 11, 23, 8, 30), "2026-11-23T08:30:00"),
        (dt.datetime(2026, 11, 23, 8, 30, 15, 499_600), "2026-11-23T08:30:15.500"),
        (dt.datetime(2026, 11, 23, 23, 59, 59, 999_900), "2026-11-24"),
        (dt.date(2026, 1, 2), "2026-01-02"),
        (dt.time(8, 30), "08:30:00"),
        (dt.timedelta(days=1, hours=2), "26:00:00"),
        (dt.timedelta(minutes=-90), "-1:30:00"),
    ],
)
def test_excel_cell_text(value: object, text: str) -> None:
    assert excel_cell_text(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_print_as_plain_decimals_that_round_trip(value: float) -> None:
    text = excel_cell_text(value)
    assert "e" not in text.lower()
    assert float(text) == value or (value == 0 and text == "0")
    if value.is_integer():
        assert "." not in text


@given(st.floats(min_value=0, max_value=2958465.99999, allow_nan=False))
def test_xls_dates_convert_like_openpyxl(serial: float) -> None:
    ours = excel_cell_text(xls_date(serial, 0))
    theirs = excel_cell_text(from_excel(serial))
    assert ours == theirs


def test_xls_date_edges() -> None:
    assert xls_date(-1.0, 0) == -1.0
    assert xls_date(0.5, 0) == dt.time(12, 0)
    assert xls_date(0.0, 1) == dt.time(0, 0)
    assert xls_date(1.0, 1) == dt.datetime(1904, 1, 2)
    assert math.isclose(xls_date(1e12, 0), 1e12)  # type: ignore[arg-type]
