"""HTML pages of tables (the ".xls" that web systems export) and Excel 2003 XML."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.adapters.test_csv_reader import encode_cp1258

from massreach.adapters.html_reader import HtmlReader, page_charset
from massreach.engine import Reach
from massreach.errors import InvalidFile, MassreachError
from massreach.model import ContactQuery, ImportOptions, PlanState
from massreach.tables import ReadOptions, sniff_format

EXCEL_PAGE = """<html xmlns:o="urn:schemas-microsoft-com:office:office"
 xmlns:x="urn:schemas-microsoft-com:office:excel">
<head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<style>{style}</style></head>
<body><h1>Báo cáo tháng 11</h1>
<table border=1>
<tr><th colspan=4>DANH SÁCH KHÁCH HÀNG</th></tr>
<tr><th>Số điện thoại</th><th>Họ&nbsp;tên</th><th>Ghi chú</th><th>Nhãn</th></tr>
<tr><td x:num="84912345678">8.49123E+10</td><td>Nguyễn &amp; Văn   A</td>
    <td>dòng 1<br>dòng 2</td><td rowspan=2>vip</td></tr>
<tr><td>0912 345 679</td><td>Bình</td><td><table><tr><td>x</td><td>y</td></tr></table></td></tr>
<tr><td>0912345680<td>Chi<td x:num="46346">20/11/2026<td>new
</table>
<p>Tổng: 3</p>
</body></html>
"""

ROWS = [
    ["DANH SÁCH KHÁCH HÀNG", "", "", ""],
    ["Số điện thoại", "Họ tên", "Ghi chú", "Nhãn"],
    ["84912345678", "Nguyễn & Văn A", "dòng 1\ndòng 2", "vip"],
    ["0912 345 679", "Bình", "x y", ""],  # under the rowspan: empty, as Excel shows it
    ["0912345680", "Chi", "20/11/2026", "new"],  # end tags left out; a date as shown
]


def page(charset: str = "utf-8", style: str = "td {mso-number-format:'\\@';}") -> str:
    return EXCEL_PAGE.format(charset=charset, style=style)


def read(path: Path, **options: object) -> tuple[object, list[tuple[int, list[str]]]]:
    with HtmlReader().open(path, ReadOptions(**options)) as table:  # type: ignore[arg-type]
        return table.info, list(table.rows())


def test_an_excel_page_reads_as_excel_shows_it(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_text(page(), encoding="utf-8")
    assert sniff_format(path) == "html"
    info, rows = read(path)
    assert rows == list(enumerate(ROWS, 1))
    assert (info.format, info.encoding, info.encoding_detected) == ("html", "utf-8", True)  # type: ignore[attr-defined]


# Vietnamese is not in GB2312: the Chinese page says the same in Chinese.
CHINESE = {
    "Báo cáo tháng 11": "报告", "Nguyễn &amp; Văn   A": "张三", "Số điện thoại": "手机号码",
    "Họ&nbsp;tên": "姓名", "Ghi chú": "备注", "Nhãn": "标签", "Bình": "李四",
    "DANH SÁCH KHÁCH HÀNG": "客户名单", "dòng": "行", "Tổng": "合计",
}  # fmt: skip


@pytest.mark.parametrize(
    ("charset", "encoding", "name"),
    [
        ("windows-1258", "windows-1258", "Nguyễn & Văn A"),  # tone marks combine (NFC)
        ("utf-8", "utf-8", "Nguyễn & Văn A"),
        ("gb2312", "gb18030", "张三"),
    ],
)
def test_the_page_charset_decodes_it(
    tmp_path: Path, charset: str, encoding: str, name: str
) -> None:
    text = page(charset)
    if charset == "gb2312":
        for vietnamese, chinese in CHINESE.items():
            text = text.replace(vietnamese, chinese)
    path = tmp_path / "export.xls"
    path.write_bytes(encode_cp1258(text) if charset == "windows-1258" else text.encode(encoding))
    info, rows = read(path)
    assert info.encoding == encoding  # type: ignore[attr-defined]
    assert rows[2][1][1] == name


def test_a_bom_and_an_explicit_encoding_win_over_the_meta(tmp_path: Path) -> None:
    bom = tmp_path / "bom.xls"
    bom.write_bytes(b"\xef\xbb\xbf" + page("windows-1250").encode("utf-8"))
    assert sniff_format(bom) == "html"
    assert read(bom)[1] == list(enumerate(ROWS, 1))
    told = tmp_path / "told.xls"
    told.write_bytes(page("iso-8859-1").encode("utf-8"))
    info, rows = read(told, encoding="utf-8")
    assert info.encoding_detected is False and rows == list(enumerate(ROWS, 1))  # type: ignore[attr-defined]


def test_a_table_after_a_long_head_is_found(tmp_path: Path) -> None:
    # Excel's own pages carry tens of kilobytes of styles before the table.
    path = tmp_path / "styled.xls"
    path.write_text(page(style=".xl65 {color: red}\n" * 5000), encoding="utf-8")
    assert path.stat().st_size > 64 * 1024
    assert sniff_format(path) == "html"
    assert read(path)[1] == list(enumerate(ROWS, 1))


@pytest.mark.parametrize(
    "data",
    [b"<html><body><p>no table here</p></body></html>", b'<?xml version="1.0"?><a><b/></a>'],
)
def test_a_page_without_a_table_is_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "page.xls"
    path.write_bytes(data)
    with pytest.raises(InvalidFile) as caught:
        sniff_format(path)
    assert caught.value.code == "file.unsupported_format"


def test_a_big_page_streams_with_rows_numbered_on(tmp_path: Path) -> None:
    body = "".join(f"<tr><td>09123{i:05d}</td><td>N{i}</td></tr>\n" for i in range(20000))
    path = tmp_path / "big.xls"
    path.write_text(f"<html><body><table>{body}</table></body></html>", encoding="utf-8")
    with HtmlReader().open(path, ReadOptions()) as table:
        rows = list(table.rows(start=19999))
        assert rows == [(19999, ["0912319998", "N19998"]), (20000, ["0912319999", "N19999"])]
        first, chunk = next(iter(table.row_chunks(1, 5000)))
        assert (first, len(chunk), chunk[0]) == (1, 5000, ["0912300000", "N0"])


def test_bytes_the_encoding_rejects_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.xls"
    path.write_bytes(b"<html><table><tr><td>0912345678</td><td>\xff\xfe</td></tr></table>")
    with pytest.raises(InvalidFile) as caught:
        read(path, encoding="utf-8")
    assert (caught.value.code, caught.value.file) == ("file.decode_error", "bad.xls")


SPREADSHEET_XML = """<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Worksheet ss:Name="Klienci">
  <Table>
   <Row><Cell><Data ss:Type="String">Telefon</Data></Cell>
        <Cell><Data ss:Type="String">Imię i nazwisko</Data></Cell>
        <Cell><Data ss:Type="String">Tag</Data></Cell></Row>
   <Row><Cell><Data ss:Type="Number">48601234567</Data></Cell>
        <Cell ss:MergeDown="1"><Data ss:Type="String">Łucja Żak</Data></Cell>
        <Cell><Data ss:Type="String">a</Data></Cell></Row>
   <Row><Cell><Data ss:Type="String">602 345 678</Data></Cell>
        <Cell ss:Index="3"><Data ss:Type="String">b</Data></Cell></Row>
   <Row><Cell ss:MergeAcross="1"><Data ss:Type="String">601 000 111</Data></Cell>
        <Cell><Data ss:Type="String">c</Data></Cell></Row>
  </Table>
 </Worksheet>
</Workbook>
"""


def test_an_excel_2003_xml_workbook_reads_too(tmp_path: Path) -> None:
    path = tmp_path / "klienci.xml"
    path.write_text(SPREADSHEET_XML, encoding="utf-8")
    assert sniff_format(path) == "html"
    info, rows = read(path)
    assert info.format == "xml"  # type: ignore[attr-defined]
    assert rows == [
        (1, ["Telefon", "Imię i nazwisko", "Tag"]),
        (2, ["48601234567", "Łucja Żak", "a"]),
        (3, ["602 345 678", "", "b"]),
        (4, ["601 000 111", "", "c"]),
    ]


def test_a_web_export_imports_like_any_file(tmp_path: Path) -> None:
    path = tmp_path / "khach-hang.xls"
    path.write_text(page(), encoding="utf-8")
    clock = lambda: datetime(2026, 11, 23, tzinfo=UTC)  # noqa: E731
    with Reach("memory:", autoload=False, env={}, clock=clock) as reach:
        plan = reach.imports.import_file(path, list_name="l", options=ImportOptions(skip_rows=1))
        assert (plan.state, plan.file_format) == (PlanState.done, "html")
        assert (plan.counts.total, plan.counts.succeeded, plan.counts.failed) == (3, 2, 1)
        phones = [c.phone for c in reach.storage.find_contacts(ContactQuery())]
        assert phones == ["+84912345678", "+84912345680"]  # the row under the rowspan has no tag
        (failed,) = reach.storage.row_results(plan.id, outcome="failed")
        assert (failed.row, failed.code) == (4, "row.missing_tag")


def test_page_charset() -> None:
    assert page_charset(b'<meta charset="GB2312">') == "gb18030"
    assert (
        page_charset(b"<META HTTP-EQUIV='Content-Type' CONTENT='text/html; charset=iso-8859-1'>")
        == "cp1252"
    )
    assert page_charset(b"<meta charset=nonsense-42>") is None
    assert page_charset(b"<p>no meta</p>") is None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", "<th colspan=3>",
             "<td rowspan=2>", "<td rowspan=x>", '<cell ss:Index="9999999">', "<row>", "<br>",
             "a", "0912345678", "&amp;", "&#xffffff;", "<!--", "-->", "<", ">", "\x00", "ą"]
        ),
        max_size=60,
    ).map("".join)
)  # fmt: skip
def test_any_markup_reads_or_fails_with_a_massreach_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.xls"
        path.write_text("<html><table>" + text, encoding="utf-8")
        try:
            _info, rows = read(path)
        except MassreachError:
            return
    assert all(isinstance(cell, str) for _, cells in rows for cell in cells)
    assert [n for n, _ in rows] == list(range(1, len(rows) + 1))
