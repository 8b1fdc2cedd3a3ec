"""Tables: what an import reads, whatever the file format.

A *table* is a file seen as numbered rows of text cells. This module holds the
pure types (:class:`ReadOptions`, :class:`TableInfo`, the :class:`Table` and
:class:`TableReader` protocols), :func:`sniff_format` (is this CSV, XLSX or XLS?),
:class:`StreamingTable` (the base of the built-in tables) and the
:class:`ReaderRegistry` that picks the reader of highest priority for a format.

The readers themselves live in :mod:`massreach.adapters` and are registered through
the ``massreach_register_readers`` hook.
"""

from __future__ import annotations

import codecs
import re
import weakref
import zipfile
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from attrs import field, frozen

from massreach.errors import InvalidFile, InvalidInput, PluginError

__all__ = [
    "ReadOptions",
    "ReaderRegistry",
    "StreamingTable",
    "Table",
    "TableInfo",
    "TableReader",
    "file_label",
    "sniff_format",
    "unreadable",
    "utf_codec_by_nuls",
]

_DELIMITER_NAMES = {
    "tab": "\t",
    "\\t": "\t",
    "comma": ",",
    "semicolon": ";",
    "colon": ":",
    "pipe": "|",
}


def _normalize_delimiter(value: str) -> str:
    text = str(value)
    lowered = text.strip().lower()
    if lowered == "auto":
        return "auto"
    text = _DELIMITER_NAMES.get(lowered, text)
    if len(text) != 1 or text in '"\r\n':
        raise InvalidInput(
            f"delimiter must be 'auto', 'tab' or one character other than a quote or"
            f" newline, not {value!r}",
            code="input.delimiter_invalid",
            details={"delimiter": value},
        )
    return text


def _check_encoding(_instance: object, _attribute: object, value: str) -> None:
    if value == "auto":
        return
    try:
        codecs.lookup(value)
    except LookupError:
        raise InvalidInput(
            f"unknown text encoding {value!r}",
            code="input.encoding_unknown",
            details={"encoding": value},
        ) from None


@frozen
class ReadOptions:
    """How to read a file: text encoding and delimiter (CSV), sheet (Excel).

    ``encoding`` is ``"auto"`` or a codec name; ``delimiter`` is ``"auto"``, one
    character, or ``"tab"``/``"\\t"`` (also ``comma``, ``semicolon``, ``colon``,
    ``pipe``); ``sheet`` is a sheet name or 0-based index, ``None`` for the first
    visible sheet. Unknown encodings and bad delimiters raise :class:`InvalidInput`.
    """

    encoding: str = field(default="auto", validator=_check_encoding)
    delimiter: str = field(default="auto", converter=_normalize_delimiter)
    sheet: str | int | None = None


@frozen
class TableInfo:
    """What a reader found out about a file, to show to the user.

    ``encoding``/``delimiter`` are the ones actually used (CSV only);
    ``*_detected`` is True when massreach found them rather than being told.
    ``sheets`` lists the worksheet names of an Excel file.
    """

    format: str
    reader: str
    encoding: str | None = None
    encoding_detected: bool = False
    delimiter: str | None = None
    delimiter_detected: bool = False
    sheet: str | None = None
    sheets: tuple[str, ...] = ()


@runtime_checkable
class Table(Protocol):
    """An open table: numbered rows of text cells, streamed. A context manager."""

    info: TableInfo

    def rows(self, start: int = 1) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(row_number, cells)`` for every record from row ``start`` on.

        Row 1 is the first record of the file or sheet. Blank rows are yielded.
        """
        ...

    @property
    def total_rows_hint(self) -> int | None:
        """The number of rows when cheaply known, else None."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class TableReader(Protocol):
    """Opens files of some formats as :class:`Table` objects."""

    name: str
    formats: tuple[str, ...]
    priority: int

    def open(self, path: Path, options: ReadOptions, *, display_name: str | None = None) -> Table:
        """Open ``path``; errors name ``display_name`` (default: the file name)."""
        ...


class StreamingTable:
    """Base of the built-in tables: :meth:`rows` hands out generators from
    :meth:`_rows` and remembers them, so that :meth:`close` stops those still open
    (closing their files) before :meth:`_release` lets go of the file."""

    def __init__(self, info: TableInfo) -> None:
        self.info = info
        self._iterators: weakref.WeakSet[Generator[object]] = weakref.WeakSet()
        self._closed = False

    @property
    def total_rows_hint(self) -> int | None:
        """The number of rows when cheaply known; None here."""
        return None

    def rows(self, start: int = 1) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(row_number, cells)`` for every row from ``start`` (1-based) on."""
        iterator = self._rows(max(1, start))
        self._iterators.add(iterator)
        return iterator

    def _rows(self, start: int) -> Generator[tuple[int, list[str]]]:
        raise NotImplementedError

    def row_chunks(self, start: int, size: int) -> Iterator[tuple[int, Sequence[list[str]]]]:
        """Rows from ``start`` on in lists of up to ``size`` consecutive rows, each
        with the number of its first row (see :func:`row_chunks`)."""
        iterator = self._row_chunks(max(1, start), size)
        self._iterators.add(iterator)
        return iterator

    def _row_chunks(self, start: int, size: int) -> Generator[tuple[int, Sequence[list[str]]]]:
        yield from _chunks_of_rows(self.rows(start), start, size)

    def _release(self) -> None:
        """Let go of what :meth:`close` must free besides the row iterators."""

    def close(self) -> None:
        """Stop the row iterators still open and release the file."""
        for iterator in list(self._iterators):
            iterator.close()
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def row_chunks(table: Table, start: int, size: int) -> Iterator[tuple[int, Sequence[list[str]]]]:
    """The rows of ``table`` from ``start`` on, ``size`` at a time: ``(first_row,
    rows)`` where the rows are numbered ``first_row``, ``first_row + 1`` … (a table
    of :class:`StreamingTable` hands them out directly; the CSV table without a
    Python step per row, as :class:`~massreach.row_columns.RowColumns` where it can)."""
    chunks = getattr(table, "row_chunks", None)
    if chunks is not None:
        return chunks(start, size)  # type: ignore[no-any-return]
    return _chunks_of_rows(table.rows(start), start, size)


def _chunks_of_rows(
    rows: Iterator[tuple[int, list[str]]], start: int, size: int
) -> Iterator[tuple[int, list[list[str]]]]:
    """Consecutive runs (at most ``size`` long) of numbered rows from ``start`` on."""
    first, run = 0, list[list[str]]()
    for number, cells in rows:
        if number < start:
            continue
        if run and (number != first + len(run) or len(run) >= size):
            yield first, run
            run = []
        if not run:
            first = number
        run.append(cells)
    if run:
        yield first, run


def file_label(path: Path, display_name: str | None) -> str:
    """The name errors use for a file: the name the user knows, else the file name."""
    return display_name if display_name else Path(path).name


def unreadable(label: str, exc: OSError) -> InvalidFile:
    """The error for a file the operating system will not give us."""
    if isinstance(exc, FileNotFoundError):
        return InvalidFile("the file does not exist", code="file.not_found", file=label)
    reason = exc.strerror or str(exc)
    return InvalidFile(f"the file cannot be read: {reason}", code="file.unreadable", file=label)


# --- format sniffing ---------------------------------------------------------

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_BINARY_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"%PDF-", "a PDF document"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"{\\rtf", "an RTF document"),
)
_MARKUP = (b"<html", b"<!doctype html", b"<?xml", b"<table", b"<head", b"<body")
_TABLE_TAG = re.compile(rb"<table[\s>]", re.IGNORECASE)
_MARKUP_SCAN = 1024 * 1024  # a page's styles may come long before its table
_CONTROL = bytes(range(0, 9)) + bytes(range(14, 26)) + bytes(range(27, 32)) + b"\x7f"
_SNIFF_BYTES = 8192


def utf_codec_by_nuls(sample: bytes) -> str | None:
    """The codec of BOM-less UTF-16/UTF-32 text, told by where its NULs sit, or None."""
    for width, names in ((4, ("utf-32-le", "", "", "utf-32-be")), (2, ("utf-16-le", "utf-16-be"))):
        n = len(sample) - len(sample) % width
        if n < 4 * width:
            continue
        lanes = [sample[i:n:width] for i in range(width)]
        for phase, name in enumerate(names):
            if not name:
                continue
            rest_nul = all(
                lane.count(0) >= 0.9 * len(lane) for i, lane in enumerate(lanes) if i != phase
            )
            if rest_nul and lanes[phase].count(0) <= 0.05 * len(lanes[phase]):
                return name
    return None


def sniff_format(path: Path, *, display_name: str | None = None) -> str:
    """Say whether a file is ``"csv"``, ``"xlsx"``, ``"xls"`` or ``"html"``, by its
    content.

    Magic bytes decide (a ZIP workbook is XLSX, an OLE2 compound file is XLS); an
    HTML page with a table is ``"html"`` (many web systems export one named
    ``.xls``); any other text file is CSV whatever its extension (many systems export
    tab-separated text named ``.xls`` too). Raises :class:`InvalidFile` with code
    ``file.empty`` for 0 bytes, ``file.binary`` for images, archives, PDFs and
    other binary data, ``file.unsupported_format`` for pages without a table, XML and
    ZIP files that are not Excel workbooks, ``file.not_found``/``file.unreadable``
    for OS errors.
    """
    label = file_label(path, display_name)
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise unreadable(label, exc) from None
    if not head:
        raise InvalidFile("the file is empty", code="file.empty", file=label)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        _check_zip_is_workbook(path, label)
        return "xlsx"
    if head.startswith(_OLE2):
        return "xls"
    if head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").lower().startswith(_MARKUP):
        return _markup_format(path, label, head)
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise InvalidFile(
                f"the file is {what}, not a CSV or Excel file",
                code="file.binary",
                file=label,
                details={"kind": what},
            )
    if head.startswith(_BOMS):
        return "csv"
    if b"\x00" in head and utf_codec_by_nuls(head[:4096]):
        return "csv"
    # A stray NUL or control byte in text (padding of an old export) is no binary
    # file; the CSV reader drops NULs. More than 1% of them is.
    controls = sum(head.count(c) for c in _CONTROL)
    if controls > max(2, len(head) // 100):
        raise _binary(label)
    return "csv"


def _markup_format(path: Path, label: str, head: bytes) -> str:
    """``"html"`` for a page that holds a table (what web systems export as
    ``.xls``) or an Excel 2003 XML workbook; any other page or XML file is refused.
    The table is looked for in ``head`` (the file's first bytes), then on."""
    if _TABLE_TAG.search(head):
        return "html"
    try:
        with open(path, "rb") as handle:
            handle.seek(len(head))
            carry = head[-8:]
            for block in iter(lambda: handle.read(_MARKUP_SCAN), b""):
                if _TABLE_TAG.search(carry + block):
                    return "html"
                carry = block[-8:]
    except OSError as exc:
        raise unreadable(label, exc) from None
    raise InvalidFile(
        "the file is an HTML or XML page with no table, not a CSV or Excel file;"
        " open it in Excel and save it as .xlsx or .csv",
        code="file.unsupported_format",
        file=label,
    )


def _binary(label: str) -> InvalidFile:
    return InvalidFile(
        "the file holds binary data, not text or an Excel workbook",
        code="file.binary",
        file=label,
        details={"kind": "binary data"},
    )


def _check_zip_is_workbook(path: Path, label: str) -> None:
    """Reject readable ZIP archives that are not XLSX; broken ones go to the reader."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except Exception:  # a damaged archive raises many kinds; the reader reports it
        return
    if "xl/workbook.xml" in names or any(n.lower() == "xl/workbook.xml" for n in names):
        return
    if "xl/workbook.bin" in names:
        what = "an Excel binary workbook (.xlsb)"
    elif "mimetype" in names or "content.xml" in names:
        what = "an OpenDocument file (.ods)"
    elif "word/document.xml" in names:
        what = "a Word document"
    else:
        what = "a ZIP archive"
    raise InvalidFile(
        f"the file is {what}, not a CSV or Excel (.xlsx/.xls) file; save it as .xlsx or .csv",
        code="file.unsupported_format",
        file=label,
        details={"kind": what},
    )


# --- registry ---------------------------------------------------------------


class ReaderRegistry:
    """The table readers known to massreach; the highest priority wins per format.

    Registration order follows the plugin hooks (built-ins first, plugins last):
    among readers of equal priority the one registered last wins, and a reader
    registered under a name already taken replaces the earlier one.
    """

    def __init__(self) -> None:
        self._readers: list[TableReader] = []

    def register(self, reader: TableReader) -> None:
        """Add a reader (replacing one of the same name). Raises :class:`PluginError`
        for an object that is not a table reader."""
        if not isinstance(reader, TableReader):
            raise PluginError(
                f"{reader!r} is not a table reader (name, formats, priority, open)",
                code="plugin.reader_invalid",
            )
        self._readers = [r for r in self._readers if r.name != reader.name]
        self._readers.append(reader)

    @property
    def readers(self) -> tuple[TableReader, ...]:
        """All registered readers, in registration order."""
        return tuple(self._readers)

    def for_format(self, fmt: str) -> TableReader:
        """The reader to use for ``fmt``; :class:`PluginError` if there is none."""
        best: TableReader | None = None
        for reader in self._readers:
            if fmt in reader.formats and (best is None or reader.priority >= best.priority):
                best = reader
        if best is None:
            raise PluginError(
                f"no table reader is registered for {fmt!r} files",
                code="plugin.reader_missing",
                details={"format": fmt},
            )
        return best

    def open(
        self,
        path: Path | str,
        options: ReadOptions | None = None,
        display_name: str | None = None,
    ) -> Table:
        """Sniff the format of ``path``, pick its reader and open the table."""
        path = Path(path)
        fmt = sniff_format(path, display_name=display_name)
        reader = self.for_format(fmt)
        return reader.open(path, options or ReadOptions(), display_name=display_name)
