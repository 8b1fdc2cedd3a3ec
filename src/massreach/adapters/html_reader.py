"""The HTML table reader: the "Excel" files that web systems export as a page.

Many CRMs and web back offices offer "Export to Excel" and write an HTML page named
``.xls``; Excel opens it and shows its tables. This reader reads such a page the
same way: every ``<tr>`` of every table, in document order, is a row (numbered from
1, as Excel numbers them), every ``<td>``/``<th>`` a cell.

* ``colspan`` adds empty cells after the cell, ``rowspan`` empty cells below it
  (Excel shows a merged cell's value once, in its first cell);
* whitespace in a cell is collapsed as a browser does, ``<br>`` and block elements
  inside it start a new line; character references are decoded;
* a table inside a cell is part of that cell's text;
* Excel's own HTML keeps a number's full value in ``x:num`` beside the text it
  shows: where that text is scientific notation (``8.49123E+10``, digits dropped),
  the value wins; otherwise (a date, a formatted number) the text shown is read.

Excel 2003 XML workbooks (SpreadsheetML: ``<Row>``, ``<Cell>``, ``<Data>``) read the
same way, ``ss:Index`` placing a cell, ``ss:MergeAcross``/``ss:MergeDown`` spanning
it; their tables follow one another as the sheets do.

Encoding ``auto``: a byte-order mark, then the page's ``<meta charset>``, then
detection as for CSV (Windows-1258 text is normalised to NFC, as there). The page
is parsed as it is read (:mod:`html.parser`), so memory stays flat whatever its size.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import deque
from collections.abc import Callable, Generator
from html.parser import HTMLParser
from pathlib import Path

from massreach.adapters.csv_reader import display_codec, read_sample
from massreach.errors import InvalidFile
from massreach.markers import hookimpl
from massreach.tables import (
    ReadOptions,
    StreamingTable,
    TableInfo,
    TableReader,
    file_label,
    unreadable,
)

__all__ = ["HtmlReader", "HtmlTable", "page_charset"]

_READ_BYTES = 64 * 1024
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([-\w:.]+)""", re.IGNORECASE)
# Pages that say these mean the wider codec, as browsers read them.
_WIDER_CODECS = {"iso8859-1": "cp1252", "gb2312": "gb18030", "gbk": "gb18030"}
# A number Excel shows in scientific notation: its x:num value has all the digits.
_SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]*)?[eE][+-]?[0-9]+")
_MAX_COLUMNS = 16_384  # as many as an Excel sheet has
# SpreadsheetML's names for a row and a cell (HTML has no such elements).
_XML_NAMES = {"row": "tr", "cell": "td"}
# Elements that end a line inside a cell.
_LINE_BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})


def page_charset(head: bytes) -> str | None:
    """The codec a page's ``<meta charset=…>`` (or ``http-equiv`` content type)
    names in ``head``, when Python knows it."""
    found = _META_CHARSET.search(head)
    if found is None:
        return None
    name = found.group(1).decode("ascii", "replace").lower()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return _WIDER_CODECS.get(codec, codec)


class _Rows(HTMLParser):
    """Collects the rows of the tables fed to it; :attr:`done` holds finished rows."""

    def __init__(self, *, nfc: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self._nfc = nfc  # Windows-1258: tone marks combine into the letters
        self.done: deque[list[str]] = deque()
        self._depth = 0  # tables open
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._value: str | None = None  # Excel's x:num of the open cell
        self._span = 1
        self._down: dict[int, int] = {}  # column -> rows still covered by a rowspan
        self._spans: list[tuple[int, int]] = []  # (column, rows) of this row's rowspans
        self._nested = 0  # tables open inside a cell

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = _XML_NAMES.get(tag, tag)
        if self._cell is not None:
            if tag == "table":
                self._nested += 1
            if tag in _LINE_BREAKS or (self._nested and tag in ("td", "th")):
                self._cell.append("\n" if tag in _LINE_BREAKS else " ")
            if not self._nested and tag in ("td", "th", "tr"):
                self._end_cell()  # a cell or row whose end tag was left out
            else:
                return
        if tag == "table":
            self._depth += 1
        elif tag == "tr" and self._depth:
            self._end_row()
            self._row = []
            self._spans = []
        elif tag in ("td", "th") and self._depth:
            if self._row is None:
                self._row, self._spans = [], []
            values = dict(attrs)
            column = _count(values.get("ss:index"), _MAX_COLUMNS) - 1  # 1-based
            while len(self._row) < column:
                self._row.append("")
            self._cover(self._row)
            self._cell = []
            self._value = values.get("x:num") or None
            self._span = _count(values.get("colspan"))
            down = _count(values.get("rowspan"))
            if "ss:mergeacross" in values:  # cells merged beside this one
                self._span = _count(values["ss:mergeacross"], 999, 0) + 1
            if "ss:mergedown" in values:
                down = _count(values["ss:mergedown"], 999, 0) + 1
            if down > 1:
                self._spans.extend((len(self._row) + i, down - 1) for i in range(self._span))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        tag = _XML_NAMES.get(tag, tag)
        if self._cell is not None and self._nested:
            if tag == "table":
                self._nested -= 1
            if tag in _LINE_BREAKS:
                self._cell.append("\n")
            return
        if tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "table" and self._depth:
            self._end_row()
            self._depth -= 1
        elif self._cell is not None and tag in _LINE_BREAKS:
            self._cell.append("\n")

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def close(self) -> None:
        super().close()
        self._end_row()

    def _cover(self, row: list[str]) -> None:
        """Empty cells where rowspans of the rows above reach into this one."""
        while self._down.get(len(row), 0) > 0:
            row.append("")

    def _end_cell(self) -> None:
        if self._cell is None or self._row is None:
            self._cell = None
            return
        text = _cell_text("".join(self._cell))
        if self._value is not None and _SCIENTIFIC.fullmatch(text):
            text = self._value  # the digits Excel's display dropped
        if self._nfc:
            text = unicodedata.normalize("NFC", text)
        self._row.append(text)
        self._row.extend([""] * (self._span - 1))
        self._cell, self._value, self._nested = None, None, 0

    def _end_row(self) -> None:
        self._end_cell()
        if self._row is None:
            return
        row = self._row
        self._cover(row)  # rowspans reaching past its last cell
        self._down = {col: rows - 1 for col, rows in self._down.items() if rows > 1}
        for col, rows in self._spans:
            self._down[col] = max(self._down.get(col, 0), rows)
        self._row, self._spans = None, []
        self.done.append(row)


def _count(value: str | None, most: int = 1000, least: int = 1) -> int:
    """A count written in an attribute (``colspan``, ``ss:Index`` …): ``least``
    unless it is a whole number above it, at most ``most``."""
    try:
        number = int(str(value).strip())
    except ValueError:
        return least
    return number if least < number <= most else least


def _cell_text(text: str) -> str:
    """Whitespace collapsed as a browser shows it; line breaks kept between lines."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


class HtmlTable(StreamingTable):
    """An open HTML page; :meth:`rows` streams the rows of its tables."""

    def __init__(self, path: Path, info: TableInfo, codec: str, label: str) -> None:
        super().__init__(info)
        self._path = path
        self._codec = codec
        self._label = label

    def _rows(self, start: int) -> Generator[tuple[int, list[str]]]:
        number = 0
        parser = _Rows(nfc=codecs.lookup(self._codec).name == "cp1258")
        decoder = codecs.getincrementaldecoder(self._codec)("strict")
        try:
            with open(self._path, "rb") as raw:
                while True:
                    data = raw.read(_READ_BYTES)
                    try:
                        parser.feed(decoder.decode(data, final=not data))
                    except UnicodeDecodeError:
                        raise self._decode_error(number + 1) from None
                    if not data:
                        parser.close()
                    while parser.done:
                        number += 1
                        cells = parser.done.popleft()
                        if number >= start:
                            yield number, cells
                    if not data:
                        return
        except OSError as exc:
            raise unreadable(self._label, exc) from None

    def _decode_error(self, row: int) -> InvalidFile:
        name = self.info.encoding or self._codec
        how = "detected" if self.info.encoding_detected else "chosen"
        return InvalidFile(
            f"bytes near row {row} are not valid {name} text (the encoding was {how});"
            " choose the page's real encoding",
            code="file.decode_error",
            file=self._label,
            row=row,
            details={"encoding": name},
        )


class HtmlReader:
    """Reads HTML pages of tables (``format == "html"``), such as the ``.xls``
    files web systems export."""

    name = "html"
    formats: tuple[str, ...] = ("html",)
    priority = 0

    def open(
        self, path: Path, options: ReadOptions, *, display_name: str | None = None
    ) -> HtmlTable:
        """Find the page's encoding (unless given) and open ``path``."""
        path = Path(path)
        label = file_label(path, display_name)
        head, codec = read_sample(path, label, options.encoding, declared=page_charset)
        spreadsheet = b"urn:schemas-microsoft-com:office:spreadsheet" in head
        info = TableInfo(
            format="xml" if spreadsheet else "html",
            reader=self.name,
            encoding=display_codec(codec),
            encoding_detected=options.encoding == "auto",
        )
        return HtmlTable(path, info, codec, label)


@hookimpl(trylast=True)
def massreach_register_readers(register: Callable[[TableReader], None]) -> None:
    """Register the built-in HTML table reader."""
    register(HtmlReader())
