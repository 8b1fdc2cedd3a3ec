"""CSV reader: encodings, delimiters, quoting, ragged and blank rows, errors."""

from __future__ import annotations

import codecs
import csv
import io
import random
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.adapters import csv_reader
from massreach.adapters.csv_reader import CsvReader, sniff_delimiter
from massreach.errors import InvalidFile, InvalidInput, MassreachError, PluginError
from massreach.tables import (
    ReaderRegistry,
    ReadOptions,
    Table,
    TableReader,
    row_chunks,
    sniff_format,
)

POLISH_ROWS = [
    ["imię", "nazwisko", "płeć", "telefon", "miasto"],
    ["Zofia", "Łąckiewicz-Źdźbło", "K", "+48 601 234 567", "Łódź"],
    ["Grzegorz", "Brzęczyszczykiewicz", "M", "501 111 333", "Chrząszczyżewoszyce"],
    ["Świętosław", "Żółć", "M", "600 000 111", "Gdańsk"],
    ["Małgorzata", "Ścibor-Rylska", "K", "600 111 222", "Kraków"],
    ["ąćęłńóśźż", "ĄĆĘŁŃÓŚŹŻ", "K", "123", "Zażółć gęślą jaźń"],
]
CHINESE_ROWS = [
    ["姓名", "手机号码", "性别", "备注"],
    ["张三", "13800138000", "男", "重要客户"],
    ["李四", "15888880810", "女", "回访，下周"],
    ["王五", "13912345678", "男", "已联系"],
]
VIETNAMESE_ROWS = [
    ["họ tên", "số điện thoại", "giới tính", "ghi chú"],
    ["Nguyễn Văn An", "0912345678", "nam", "khách hàng quan trọng"],
    ["Trần Thị Bình", "0987654321", "nữ", "gọi lại sau"],
    ["Lê Hoàng Cường", "0901234567", "nam", "đã liên hệ"],
    ["Phạm Thị Dung", "0933333333", "nữ", "Hồ Chí Minh"],
]
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def encode_cp1258(text: str) -> bytes:
    """Vietnamese as Windows-1258 writes it: base letters plus combining tone marks."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
        tones = "".join(c for c in parts if c in _TONE_MARKS)
        out.append((base + tones).encode("cp1258"))
    return b"".join(out)


def to_csv(rows: list[list[str]], delimiter: str = ",", newline: str = "\r\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return buffer.getvalue()


def write(tmp_path: Path, data: bytes, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_all(path: Path, **options: object) -> tuple[Table, list[tuple[int, list[str]]]]:
    with CsvReader().open(path, ReadOptions(**options)) as table:  # type: ignore[arg-type]
        return table, list(table.rows())


def cells(rows: list[tuple[int, list[str]]]) -> list[list[str]]:
    return [[unicodedata.normalize("NFC", c) for c in row] for _, row in rows]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (to_csv(POLISH_ROWS).encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + to_csv(POLISH_ROWS).encode("utf-8"), "utf-8-sig"),
        (to_csv(POLISH_ROWS, ";").encode("cp1250"), "windows-1250"),
        (to_csv(POLISH_ROWS, ";").encode("iso-8859-2"), "iso-8859-2"),
        (to_csv(CHINESE_ROWS).encode("gb18030"), "gb18030"),
        (encode_cp1258(to_csv(VIETNAMESE_ROWS)), "windows-1258"),
        ("\ufeff".encode("utf-16-le") + to_csv(POLISH_ROWS, "\t").encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + to_csv(CHINESE_ROWS, "\t").encode("utf-16-be"), "utf-16"),
        (codecs.BOM_UTF32_LE + to_csv(CHINESE_ROWS).encode("utf-32-le"), "utf-32"),
    ],
    ids=["utf8", "utf8bom", "cp1250", "iso8859-2", "gb18030", "cp1258", "u16le", "u16be", "u32"],
)
def test_encoding_is_detected_and_reported(tmp_path: Path, data: bytes, encoding: str) -> None:
    table, rows = read_all(write(tmp_path, data))
    assert table.info.encoding == encoding
    assert table.info.encoding_detected is True
    expected = {
        "imię": POLISH_ROWS,
        "姓名": CHINESE_ROWS,
        "họ tên": VIETNAMESE_ROWS,
    }[cells(rows)[0][0]]
    assert cells(rows) == expected
    assert [n for n, _ in rows] == list(range(1, len(expected) + 1))


def test_excel_unicode_text_is_utf16_tab_separated(tmp_path: Path) -> None:
    text = to_csv(CHINESE_ROWS, "\t")
    path = write(tmp_path, text.encode("utf-16"), "contacts.txt")  # BOM + native order
    assert sniff_format(path) == "csv"
    table, rows = read_all(path)
    assert (table.info.encoding, table.info.delimiter) == ("utf-16", "\t")
    assert table.info.delimiter_detected is True
    assert cells(rows) == CHINESE_ROWS


def test_utf16_without_bom_is_recognised_by_its_nuls(tmp_path: Path) -> None:
    path = write(tmp_path, to_csv([["name", "phone"], ["Ann", "123"]]).encode("utf-16-le"))
    table, rows = read_all(path)
    assert table.info.encoding == "utf-16-le"
    assert cells(rows) == [["name", "phone"], ["Ann", "123"]]


def test_vietnamese_windows_1258_reads_as_nfc(tmp_path: Path) -> None:
    _table, rows = read_all(write(tmp_path, encode_cp1258(to_csv(VIETNAMESE_ROWS))))
    assert [row for _, row in rows] == VIETNAMESE_ROWS  # already NFC, no normalising needed


def test_non_ascii_far_into_an_ascii_file_still_decides(tmp_path: Path) -> None:
    head = "".join(f"{i},Name {i},600{i:06d}\r\n" for i in range(5000))
    data = head.encode("ascii") + "5000,Łukasz Żółtowski,600000001\r\n".encode("cp1250")
    assert len(head) > 64 * 1024
    table, rows = read_all(write(tmp_path, data))
    assert table.info.encoding == "windows-1250"
    assert rows[-1] == (5001, ["5000", "Łukasz Żółtowski", "600000001"])


def test_ascii_only_file_is_utf8(tmp_path: Path) -> None:
    table, rows = read_all(write(tmp_path, b"phone\n123\n"))
    assert table.info.encoding == "utf-8"
    assert rows == [(1, ["phone"]), (2, ["123"])]


def test_explicit_encoding_wins_over_detection(tmp_path: Path) -> None:
    path = write(tmp_path, to_csv(POLISH_ROWS, ";").encode("cp1250"))
    table, rows = read_all(path, encoding="iso-8859-2")
    assert table.info.encoding == "iso-8859-2"
    assert table.info.encoding_detected is False
    assert rows[0][1][0] == "imię"  # 'ę' is the same byte in both
    assert rows[1][1][1] != POLISH_ROWS[1][1]  # 'ą' (0xB9) reads as 'š' in ISO-8859-2


def test_explicit_utf8_skips_a_bom(tmp_path: Path) -> None:
    path = write(tmp_path, codecs.BOM_UTF8 + b"phone\n1\n")
    table, rows = read_all(path, encoding="UTF-8")
    assert rows[0] == (1, ["phone"])
    assert table.info.encoding == "utf-8-sig"


def test_explicit_encoding_that_does_not_fit_names_file_and_row(tmp_path: Path) -> None:
    data = b'name,phone\r\nAnn,1\r\n"B\r\nob",2\r\n' + "Żaneta,3\r\n".encode("cp1250")
    path = write(tmp_path, data)
    with pytest.raises(InvalidFile) as caught:
        CsvReader().open(path, ReadOptions(encoding="utf-8"), display_name="upload.csv")
    err = caught.value
    assert (err.code, err.file, err.row) == ("file.decode_error", "upload.csv", 4)
    assert err.details["field"] == 1
    assert "utf-8" in err.message


def test_decode_error_beyond_the_sample_is_raised_while_iterating(tmp_path: Path) -> None:
    body = "".join(f"{i},Łódź {i}\n" for i in range(20000)).encode()
    path = write(tmp_path, body + b"20000,\xff\xfe bad\n")
    table = CsvReader().open(path, ReadOptions())
    assert table.info.encoding == "utf-8"
    with pytest.raises(InvalidFile) as caught:
        for _ in table.rows():
            pass
    assert (caught.value.code, caught.value.row) == ("file.decode_error", 20001)
    table.close()


@pytest.mark.parametrize("delimiter", [",", ";", ":", "\t", "|"])
def test_every_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    rows = [["name", "phone", "note"], ["Ann", "+48 601", "a"], ["Bob", "602", "b c"]]
    table, got = read_all(write(tmp_path, to_csv(rows, delimiter).encode()))
    assert table.info.delimiter == delimiter
    assert table.info.delimiter_detected is True
    assert cells(got) == rows


@pytest.mark.parametrize(
    ("given", "expected"), [("tab", "\t"), ("\\t", "\t"), ("\t", "\t"), (";", ";"), ("pipe", "|")]
)
def test_explicit_delimiter_wins(tmp_path: Path, given: str, expected: str) -> None:
    path = write(tmp_path, b"a,b;c\td|e\n")
    table, rows = read_all(path, delimiter=given)
    assert table.info.delimiter == expected
    assert table.info.delimiter_detected is False
    assert len(rows[0][1]) == 2


@pytest.mark.parametrize(
    ("hint", "delimiter"),
    [
        ("sep=;\r\n", ";"),
        ("SEP=|\n", "|"),
        ("sep=\t\r\n", "\t"),
        ('"sep=;";;\r\n', ";"),  # quoted and padded to the width by another tool
        ("sep=:   \n", ":"),
    ],
)
def test_an_excel_sep_hint_names_the_delimiter_and_is_no_row(
    tmp_path: Path, hint: str, delimiter: str
) -> None:
    # Commas inside the values would win the sniffing on their own.
    rows = [["phone", "name, first", "note"], ["601", "Kowalski, Jan", "a,b,c"]]
    data = (hint + to_csv(rows, delimiter)).encode("utf-8-sig")
    table, got = read_all(write(tmp_path, data))
    assert table.info.delimiter == delimiter
    assert table.info.delimiter_detected is True
    # Rows are numbered as Excel shows them: it hides the hint, the header is row 1.
    assert got == [(1, rows[0]), (2, rows[1])]
    with CsvReader().open(write(tmp_path, data), ReadOptions()) as again:
        assert [(first, list(chunk)) for first, chunk in again.row_chunks(1, 10)] == [(1, rows)]
        assert [(first, list(chunk)) for first, chunk in again.row_chunks(2, 10)] == [(2, rows[1:])]
        assert list(again.rows(start=2)) == [(2, rows[1])]


def test_a_sep_hint_is_no_row_even_with_an_explicit_delimiter(tmp_path: Path) -> None:
    data = b"sep=;\nphone;name\n601;Ann\n"
    table, got = read_all(write(tmp_path, data), delimiter=";")
    assert table.info.delimiter_detected is False
    assert got == [(1, ["phone", "name"]), (2, ["601", "Ann"])]


@pytest.mark.parametrize("first", ["sep=\n", "sep=;x\n", "phone,sep=;\n", "separator=;\n"])
def test_a_first_line_that_is_no_sep_hint_stays_a_row(tmp_path: Path, first: str) -> None:
    _table, got = read_all(write(tmp_path, (first + "a,b\n").encode()))
    assert [number for number, _ in got] == [1, 2]


def test_a_decode_error_past_a_sep_hint_names_the_row_excel_shows(tmp_path: Path) -> None:
    data = b"sep=;\nphone;name\n601;Ann\n602;B\xff\n"
    with pytest.raises(InvalidFile) as caught:
        read_all(write(tmp_path, data), encoding="utf-8")
    assert (caught.value.row, caught.value.details["field"]) == (3, 2)


def test_times_with_colons_do_not_fool_the_sniffer(tmp_path: Path) -> None:
    rows = [["name", "contact date", "agent"]] + [
        [f"N{i}", f"2026-11-2{i} 08:3{i}", "6001"] for i in range(5)
    ]
    table, _ = read_all(write(tmp_path, to_csv(rows).encode()))
    assert table.info.delimiter == ","


def test_quoted_fields_with_delimiters_and_newlines_are_one_record(tmp_path: Path) -> None:
    data = (
        b'name;note;phone\r\n"Kowalski; Jan";"line 1\r\nline 2\nline 3";"601"\r\n'
        b'"Nowak ""A""";x;602\r\n'
    )
    _table, rows = read_all(write(tmp_path, data))
    assert rows == [
        (1, ["name", "note", "phone"]),
        (2, ["Kowalski; Jan", "line 1\r\nline 2\nline 3", "601"]),
        (3, ['Nowak "A"', "x", "602"]),
    ]


def test_ragged_rows_keep_their_own_length(tmp_path: Path) -> None:
    data = b"a,b,c\n1,2\n1,2,3,4\n1\n"
    _table, rows = read_all(write(tmp_path, data))
    assert [r for _, r in rows] == [["a", "b", "c"], ["1", "2"], ["1", "2", "3", "4"], ["1"]]


def test_blank_rows_and_rows_of_only_delimiters_are_yielded(tmp_path: Path) -> None:
    data = b"phone,name\n601,Ann\n\n,,\n602,Bob\n,\n\n\n"
    _table, rows = read_all(write(tmp_path, data))
    assert [n for n, _ in rows] == [1, 2, 3, 4, 5, 6, 7, 8]
    blank = [n for n, r in rows if not any(r)]
    assert blank == [3, 4, 6, 7, 8]
    assert rows[4] == (5, ["602", "Bob"])


def test_rows_start_skips_earlier_records_and_can_be_read_again(tmp_path: Path) -> None:
    data = b'h1,h2\n"a\nb",1\nc,2\nd,3\n'
    with CsvReader().open(write(tmp_path, data), ReadOptions()) as table:
        assert list(table.rows(start=3)) == [(3, ["c", "2"]), (4, ["d", "3"])]
        first = next(iter(table.rows()))
        assert first == (1, ["h1", "h2"])
        assert list(table.rows(start=10)) == []
        assert table.total_rows_hint is None


def test_unclosed_quote_is_reported_when_the_field_runs_away(tmp_path: Path) -> None:
    data = b'a,b\n1,"never closed\n' + b"x" * 200_000 + b"\n"
    path = write(tmp_path, data)
    with pytest.raises(InvalidFile) as caught, CsvReader().open(path, ReadOptions()) as table:
        list(table.rows())
    assert caught.value.code == "file.csv_malformed"
    assert caught.value.row == 2


def test_undetectable_encoding_is_a_clear_error(tmp_path: Path) -> None:
    rng = random.Random(7)
    data = bytes(rng.randrange(0x80, 0x100) for _ in range(2000))  # no language at all
    path = write(tmp_path, b"a,b\n" + data)
    with pytest.raises(InvalidFile) as caught:
        CsvReader().open(path, ReadOptions(), display_name="x.csv")
    assert caught.value.code == "file.encoding_unknown"
    assert caught.value.file == "x.csv"


def test_options_are_validated() -> None:
    with pytest.raises(InvalidInput) as caught:
        ReadOptions(encoding="no-such-codec")
    assert caught.value.code == "input.encoding_unknown"
    with pytest.raises(InvalidInput) as caught:
        ReadOptions(delimiter=";;")
    assert caught.value.code == "input.delimiter_invalid"
    assert ReadOptions(delimiter="TAB").delimiter == "\t"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "file.empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file.binary"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "file.binary"),
        (b"name,phone\n\x00\x01\x02\x03\xff\xfe\x00\x00\x00", "file.binary"),
        (b"<html><body><p>a page, no table</p></body></html>", "file.unsupported_format"),
    ],
)
def test_sniff_format_rejects_what_is_no_table(tmp_path: Path, data: bytes, code: str) -> None:
    with pytest.raises(InvalidFile) as caught:
        sniff_format(write(tmp_path, data, "list.csv"), display_name="list.csv")
    assert caught.value.code == code
    assert caught.value.file == "list.csv"


def test_a_stray_nul_in_text_is_dropped_and_many_make_it_binary(tmp_path: Path) -> None:
    # Old exports pad fields with NUL; no cell means one (PostgreSQL cannot store it).
    data = b"phone,name\n0912345678,B\x00o\n0912345679,Cy\x00\n"
    path = write(tmp_path, data, "padded.csv")
    assert sniff_format(path) == "csv"
    table, rows = read_all(path)
    assert table.info.encoding == "utf-8"
    assert [cells for _, cells in rows] == [
        ["phone", "name"],
        ["0912345678", "Bo"],
        ["0912345679", "Cy"],
    ]
    with CsvReader().open(path, ReadOptions()) as again:
        assert [list(chunk) for _, chunk in again.row_chunks(2, 10)] == [
            [["0912345678", "Bo"], ["0912345679", "Cy"]]
        ]
    with pytest.raises(InvalidFile) as caught:
        sniff_format(write(tmp_path, b"phone,name\n" + b"\x00" * 200, "zeros.csv"))
    assert caught.value.code == "file.binary"


def test_sniff_format_reads_content_not_extension(tmp_path: Path) -> None:
    assert sniff_format(write(tmp_path, b"a\tb\n1\t2\n", "export.xls")) == "csv"
    assert sniff_format(write(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)) == "xls"
    with pytest.raises(InvalidFile) as caught:
        sniff_format(tmp_path / "missing.csv")
    assert caught.value.code == "file.not_found"


def test_registry_picks_highest_priority_and_uses_hooks(tmp_path: Path) -> None:
    registry = ReaderRegistry()
    with pytest.raises(PluginError):
        registry.for_format("csv")
    csv_reader.massreach_register_readers(registry.register)
    reader = registry.for_format("csv")
    assert isinstance(reader, TableReader)
    assert reader.name == "csv"

    class Louder(CsvReader):
        name = "louder"
        priority = 5

    registry.register(Louder())
    assert registry.for_format("csv").name == "louder"

    class Replacement(CsvReader):
        priority = 5  # same name as the built-in: replaces it; equal priority: last wins

    registry.register(Replacement())
    assert [r.name for r in registry.readers] == ["louder", "csv"]
    assert isinstance(registry.for_format("csv"), Replacement)
    registry.register(Louder())
    with registry.open(write(tmp_path, b"a;b\n1;2\n"), display_name="x.csv") as table:
        assert table.info.reader == "louder"
        assert list(table.rows()) == [(1, ["a", "b"]), (2, ["1", "2"])]
    with pytest.raises(PluginError):
        registry.register(object())  # type: ignore[arg-type]


# cp1258 cannot encode every Latin letter; keep generated text inside what all fit.
_SAFE = st.text(st.sampled_from("abcxyz ABC019-+.@"), max_size=8)


@given(
    rows=st.lists(st.lists(_SAFE, min_size=1, max_size=5), min_size=1, max_size=20),
    delimiter=st.sampled_from(",;\t|"),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1250", "gb18030"]),
)
def test_written_csv_reads_back_exactly(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    delimiter: str,
    encoding: str,
) -> None:
    path = tmp_path_factory.mktemp("rt") / "rt.csv"
    path.write_bytes(to_csv(rows, delimiter).encode(encoding))
    with CsvReader().open(path, ReadOptions(encoding=encoding, delimiter=delimiter)) as table:
        got = list(table.rows())
    assert [r for _, r in got] == rows  # csv.writer quotes a lone empty field: [""]
    assert [n for n, _ in got] == list(range(1, len(rows) + 1))


@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300))
def test_sniffing_any_text_returns_a_candidate(text: str) -> None:
    assert sniff_delimiter(text) in ",;\t|:"


def test_errors_are_massreach_errors() -> None:
    assert issubclass(InvalidFile, MassreachError)


_PL_NAMES = ["Zofia", "Łukasz", "Małgorzata", "Świętosław", "Józef", "Żaneta", "Paweł", "Jędrzej"]
_PL_CITIES = ["Łódź", "Kraków", "Gdańsk", "Poznań", "Częstochowa", "Zielona Góra", "Śrem", "Toruń"]
_VI_NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Đặng Thị Giang", "Bùi Quốc Huy"]
_ZH_NAMES = ["张三", "李四", "王五", "赵六", "钱七", "孙八"]
_PHONES = st.integers(0, 10**8 - 1).map(lambda n: f"9{n:08d}")


@given(
    language=st.sampled_from(["pl-cp1250", "pl-iso8859-2", "vi", "zh"]),
    picks=st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100), _PHONES), max_size=15),
)
def test_legacy_encodings_are_detected_even_in_small_files(
    tmp_path_factory: pytest.TempPathFactory,
    language: str,
    picks: list[tuple[int, int, str]],
) -> None:
    if language.startswith("pl"):
        rows = [["imię", "miasto", "telefon"]] + [
            [_PL_NAMES[a % len(_PL_NAMES)], _PL_CITIES[b % len(_PL_CITIES)], p] for a, b, p in picks
        ]
        data = to_csv(rows, ";").encode(language[3:])
    elif language == "vi":
        rows = [["họ tên", "số điện thoại"]] + [[_VI_NAMES[a % 5], p] for a, _, p in picks]
        data = encode_cp1258(to_csv(rows))
    else:
        rows = [["姓名", "手机号码"]] + [[_ZH_NAMES[a % 6], p] for a, _, p in picks]
        data = to_csv(rows).encode("gb18030")
    path = tmp_path_factory.mktemp("legacy") / "legacy.csv"
    path.write_bytes(data)
    _table, got = read_all(path)
    assert [r for _, r in got] == rows


_CELL = st.text(alphabet='ab ,;"\n\r\tł中', max_size=6)


@given(
    rows=st.lists(st.lists(_CELL, max_size=4), max_size=25),
    start=st.integers(1, 8),
    size=st.integers(1, 7),
)
def test_row_chunks_are_the_rows_in_runs(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], start: int, size: int
) -> None:
    """The CSV table's chunks (straight from csv) hold exactly its rows, numbered."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["id", "x"], *rows])
    path = write(tmp_path_factory.mktemp("chunks"), buffer.getvalue().encode())
    with CsvReader().open(path, ReadOptions(delimiter=",")) as table:
        expected = list(table.rows(start))
        chunks = list(table.row_chunks(start, size))
        generic = list(row_chunks(_OnlyRows(table), start, size))
    assert all(0 < len(chunk) <= size for _, chunk in chunks)
    flat = [(first + i, cells) for first, chunk in chunks for i, cells in enumerate(chunk)]
    assert flat == expected
    assert generic == chunks


class _OnlyRows:
    """A plugin table with rows() only (no row_chunks)."""

    def __init__(self, table: Table) -> None:
        self.rows = table.rows


def test_generic_chunks_split_where_numbering_jumps() -> None:
    class Gappy:
        def rows(self, start: int = 1) -> object:
            return iter([(1, ["h"]), (2, ["a"]), (3, ["b"]), (7, ["c"]), (8, ["d"])])

    assert list(row_chunks(Gappy(), 2, 10)) == [(2, [["a"], ["b"]]), (7, [["c"], ["d"]])]  # type: ignore[arg-type]


def test_chunks_raise_the_decode_error_with_its_row(tmp_path: Path) -> None:
    body = "".join(f"{i},Łódź {i}\n" for i in range(20000)).encode()
    path = write(tmp_path, body + b"20000,\xff\xfe bad\n")
    with CsvReader().open(path, ReadOptions()) as table, pytest.raises(InvalidFile) as caught:
        for _ in table.row_chunks(1, 5000):
            pass
    assert (caught.value.code, caught.value.row) == ("file.decode_error", 20001)


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1258"])
@pytest.mark.parametrize("size", [1, 2, 3, 100])
def test_a_quote_never_closed_is_refused_after_the_rows_before_it(
    tmp_path: Path, encoding: str, size: int
) -> None:
    # Row 4 opens a quote that nothing closes: csv would read rows 5-6 into it.
    lines = [
        "phone,name,tag",
        "601,Ann,t",
        '602,"Bo ""B"", Jr",t',
        '603,"Cy,t',
        "604,Di,t",
        "605,Ed,t",
    ]
    path = write(tmp_path, "\r\n".join(lines).encode(encoding))
    given: list[list[str]] = []
    with CsvReader().open(path, ReadOptions(encoding=encoding)) as table:
        with pytest.raises(InvalidFile) as caught:
            for first, chunk in table.row_chunks(1, size):
                assert first == len(given) + 1
                given.extend(chunk)
        # Plain rows are what csv makes of it (for a preview, say).
        assert list(table.rows(start=4)) == [(4, ["603", "Cy,t\r\n604,Di,t\r\n605,Ed,t"])]
    assert given == [["phone", "name", "tag"], ["601", "Ann", "t"], ["602", 'Bo "B", Jr', "t"]]
    error = caught.value
    assert (error.code, error.row, error.details["field"]) == ("file.csv_unclosed_quote", 4, 2)
    assert "never closed" in str(error) and "row 4" in str(error)


@pytest.mark.parametrize(
    "ending",
    ['601,"Ann"', '601,"Ann"\n', '601,"Ann\n""x"""', '601,Ann\n"', '601,"A\nnn"\n'],
)
def test_a_quote_closed_at_the_very_end_is_no_error(tmp_path: Path, ending: str) -> None:
    path = write(tmp_path, ("phone,name\n" + ending).encode())
    with CsvReader().open(path, ReadOptions()) as table:
        if ending.endswith('\n"'):  # a lone quote on the last line opens and never closes
            with pytest.raises(InvalidFile):
                list(table.row_chunks(1, 10))
        else:
            records = [record for _, chunk in table.row_chunks(1, 10) for record in chunk]
            assert records == list(csv.reader(io.StringIO("phone,name\n" + ending)))


def test_closing_the_table_stops_its_chunks(tmp_path: Path) -> None:
    path = write(tmp_path, "".join(f"{i},x\n" for i in range(100)).encode())
    table = CsvReader().open(path, ReadOptions())
    chunks = table.row_chunks(1, 10)
    next(chunks)
    table.close()
    assert list(chunks) == []
