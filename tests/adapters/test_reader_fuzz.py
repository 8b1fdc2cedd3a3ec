"""Fuzzing: random bytes, truncated and corrupted real files and renamed binaries
never raise anything but a MassreachError, whether opened or read to the end."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from massreach.adapters import calamine_reader, csv_reader, xls_reader, xlsx_reader
from massreach.errors import MassreachError
from massreach.tables import ReaderRegistry, ReadOptions


def registry(with_calamine: bool) -> ReaderRegistry:
    built = ReaderRegistry()
    modules = [xlsx_reader, xls_reader, csv_reader]
    if with_calamine:
        modules.insert(0, calamine_reader)
    for module in modules:
        module.massreach_register_readers(built.register)
    return built


REGISTRIES = (registry(False), registry(True))


def sample_csv() -> bytes:
    lines = ["imię;nazwisko;telefon"] + [f'"Ż{i}";"a;\nb";60{i:07d}' for i in range(300)]
    return "\r\n".join(lines).encode("cp1250")


def sample_xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["phone", "name", "when", "amount"])
    for i in range(150):
        sheet.append([84912345678 + i, f"Nguyễn {i}", dt.datetime(2026, 1, 1, i % 24), i / 7])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sample_xls() -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("S")
    style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for i in range(150):
        sheet.write(i, 0, 84912345678 + i)
        sheet.write(i, 1, f"张三 {i}")
        sheet.write(i, 2, dt.datetime(2026, 1, 1 + i % 28), style)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


SAMPLES = {"csv": sample_csv(), "xlsx": sample_xlsx(), "xls": sample_xls()}


def zip_of(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


BINARIES = [
    b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
    b"%PDF-1.4\n" + bytes(range(256)),
    gzip.compress(SAMPLES["csv"]),
    zip_of("data.csv", SAMPLES["csv"]),
    zip_of("xl/workbook.xml", b"<not really/>"),
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024),
    b"\x7fELF" + bytes(range(256)) * 4,
    bytes(4096),
    b"\xff\xfe" + bytes(range(256)),
]


def exercise(path: Path, name: str) -> None:
    """Open with every registry and read every row; only MassreachError may escape."""
    for reg in REGISTRIES:
        try:
            with reg.open(path, ReadOptions(), display_name=name) as table:
                for number, cells in table.rows():
                    assert number >= 1
                    assert all(isinstance(c, str) for c in cells)
        except MassreachError as exc:
            assert exc.code
            assert exc.file == name


_SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
_EXTENSIONS = st.sampled_from(["csv", "txt", "xlsx", "xls"])


@_SETTINGS
@given(data=st.binary(max_size=3000), extension=_EXTENSIONS)
def test_random_bytes(tmp_path: Path, data: bytes, extension: str) -> None:
    path = tmp_path / f"random.{extension}"
    path.write_bytes(data)
    exercise(path, path.name)


@_SETTINGS
@given(kind=st.sampled_from(sorted(SAMPLES)), cut=st.floats(0, 1), extension=_EXTENSIONS)
def test_truncated_real_files(tmp_path: Path, kind: str, cut: float, extension: str) -> None:
    data = SAMPLES[kind]
    path = tmp_path / f"cut.{extension}"
    path.write_bytes(data[: int(len(data) * cut)])
    exercise(path, path.name)


@_SETTINGS
@given(
    kind=st.sampled_from(sorted(SAMPLES)),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(max_size=8)), max_size=6),
)
def test_corrupted_real_files(tmp_path: Path, kind: str, edits: list[tuple[float, bytes]]) -> None:
    data = bytearray(SAMPLES[kind])
    for where, junk in edits:
        at = int(len(data) * where)
        data[at : at + len(junk)] = junk
    path = tmp_path / f"corrupt.{kind}"
    path.write_bytes(bytes(data))
    exercise(path, path.name)


@pytest.mark.parametrize("extension", ["csv", "xlsx", "xls"])
@pytest.mark.parametrize("index", range(len(BINARIES)))
def test_renamed_binaries(tmp_path: Path, index: int, extension: str) -> None:
    path = tmp_path / f"renamed.{extension}"
    path.write_bytes(BINARIES[index])
    exercise(path, path.name)


def test_intact_samples_read_fully(tmp_path: Path) -> None:
    for kind, data in SAMPLES.items():
        path = tmp_path / f"ok.{kind}"
        path.write_bytes(data)
        for reg in REGISTRIES:
            with reg.open(path) as table:
                assert sum(1 for _ in table.rows()) >= 150
