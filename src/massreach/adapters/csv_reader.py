"""The CSV table reader: streams records out of delimited text files.

Encoding ``auto``: a byte-order mark (UTF-8/16/32), BOM-less UTF-16/32 by its NUL
pattern, strict UTF-8, then chardet's candidates, checked: each must decode the
sample; fewest implausible characters wins, then chardet's confidence (Windows-1250,
ISO-8859-2, GB18030, Windows-1258 weigh 3x; Windows-1258 only with a Vietnamese tone
mark or letter in sight); Windows-1250 against ISO-8859-2 goes
to the one giving more Polish letters. When the first 64 KiB are ASCII the sample
is taken at the first non-ASCII bytes further on. Windows-1258 text (Vietnamese
with combining tone marks) is normalised to NFC.

Delimiter ``auto``: :class:`csv.Sniffer` restricted to ``, ; tab | :`` checked
against a count of how consistently each candidate splits the sample's records.
A first line ``sep=;`` (Excel's delimiter hint, which Excel itself writes and hides)
names the delimiter instead. Whatever the delimiter option says, it is no row of the
table: rows are numbered as Excel shows them, from the line after it.

Rows are decoded incrementally, a block at a time, and split by ``str.split``
where a block has no quote and no carriage return, else by :mod:`csv` fed the lines
of :class:`io.TextIOWrapper` (``newline=""``): the same records either way
(:mod:`massreach.adapters.csv_blocks`). Memory stays flat and the row loop does no
per-cell work.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from itertools import chain, islice
from pathlib import Path

import chardet

from massreach.adapters.csv_blocks import chunks_of_runs, marked_reader, record_runs, runs_after
from massreach.errors import InvalidFile
from massreach.markers import hookimpl
from massreach.row_columns import RowColumns
from massreach.tables import (
    ReadOptions,
    StreamingTable,
    TableInfo,
    TableReader,
    file_label,
    unreadable,
    utf_codec_by_nuls,
)

__all__ = [
    "CsvReader",
    "CsvTable",
    "detect_encoding",
    "display_codec",
    "read_sample",
    "sniff_delimiter",
]

SAMPLE_BYTES = 64 * 1024
_SCAN_BYTES = 1024 * 1024
_DELIMITERS = ",;\t|:"
_DOMAIN_CODECS = ("cp1250", "iso8859-2", "gb18030", "cp1258")
_POLISH_PAIR = ("cp1250", "iso8859-2")
_COMMON_CODECS = frozenset(
    [f"cp{n}" for n in range(1250, 1259)]
    + [f"iso8859-{n}" for n in (1, 2, 5, 7, 9, 15)]
    + ["koi8-r", "gb18030", "big5", "big5hkscs", "cp949", "euc_kr", "shift_jis", "cp932"]
    + ["euc_jp", "tis-620", "cp874"]
)
_ASCII_PROBE = b"\t\r\n ,;:|\"'0123456789abcxyzABCXYZ@+-._"
_POLISH_LETTERS = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CHARDET_ALIASES = {"ascii": "utf-8", "gb2312": "gb18030", "gbk": "gb18030"}
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SURROGATE = re.compile("[\udc80-\udcff]")
_PLAIN_MARKS = frozenset("…‰•·–—€")
_VIETNAMESE = re.compile("[\u0300\u0301\u0303\u0309\u0323đĐưƯơƠ]")  # tone marks, letters
_NFC = partial(unicodedata.normalize, "NFC")


#: The end mark of :func:`record_runs` (a noncharacter: no text file holds it).
_END = "\ufdd0"


def _without_nul(line: str) -> str:
    """``line`` without NUL characters, which the reader drops (as ``csv_blocks``)."""
    return line.replace("\x00", "") if "\x00" in line else line


# Excel writes ``sep=;``; other tools quote it or pad it to the table's width.
_SEP_HINT = re.compile(r'"?sep=([^\r\n"])"?(?:\1|[ \t])*(?:\r\n|\r|\n|$)', re.IGNORECASE)


def delimiter_hint(text: str) -> str | None:
    """The delimiter an Excel hint line (``sep=;``) at the start of ``text`` names."""
    found = _SEP_HINT.match(text)
    return found.group(1) if found else None


def display_codec(codec: str) -> str:
    """The usual name of a codec: ``windows-1250``, ``iso-8859-2``, ``utf-8`` …"""
    name = codecs.lookup(codec).name
    if name.startswith("cp125"):
        return "windows-" + name[2:]
    if name.startswith("iso8859-"):
        return "iso-8859-" + name[len("iso8859-") :]
    return name


def _decode(sample: bytes, codec: str, final: bool) -> str | None:
    try:
        return codecs.getincrementaldecoder(codec)().decode(sample, final)
    except (UnicodeDecodeError, LookupError):
        return None


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" or "\uf900" <= ch <= "\ufaff"


def _ascii_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _implausible(text: str) -> tuple[int, int]:
    """(implausible, total) non-ASCII characters of ``text`` decoded as some codec.

    Implausible: control/private/unassigned characters, combining marks not after a
    letter, symbols glued to letters (``ł`` read as ``³``), box drawing, an
    uppercase letter right after a lowercase one, ideographs glued to ASCII letters
    (Latin-2 bytes read as Big5 or GBK).
    """
    bad = total = 0
    last = len(text) - 1
    for match in _NON_ASCII.finditer(text):
        total += 1
        if total > 20000:
            break
        i = match.start()
        ch = text[i]
        prev = text[i - 1] if i else " "
        nxt = text[i + 1] if i < last else " "
        cat = unicodedata.category(ch)
        if cat[0] == "L" and cat != "Lm":
            bad += (_is_cjk(ch) and (_ascii_letter(prev) or _ascii_letter(nxt))) or (
                cat == "Lu" and unicodedata.category(prev) == "Ll"
            )
        elif cat[0] == "C":
            bad += cat != "Cf"
        elif cat == "Mn":
            bad += not (prev.isalpha() or unicodedata.category(prev) == "Mn")
        elif "\u2500" <= ch <= "\u259f":  # box drawing: DOS code pages misread
            bad += 1
        elif cat[0] in "SPN" or cat == "Lm":
            if cat in ("Pi", "Pf", "Ps", "Pe", "Nd") or ch in _PLAIN_MARKS:
                continue
            if "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef":
                continue
            bad += prev.isalpha() or nxt.isalpha()
    return bad, total


def _candidates(sample: bytes) -> list[tuple[str, float]]:
    found: list[tuple[str, float]] = []
    try:
        results = chardet.detect_all(sample, compat_names=False)
    except TypeError:  # chardet < 7 names codecs its own way; codecs.lookup copes
        results = chardet.detect_all(sample)
    for result in results[:8]:
        name = result.get("encoding")
        if not name:
            continue
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            continue
        codec = _CHARDET_ALIASES.get(codec, codec)
        confidence = float(result.get("confidence") or 0.0)
        if codec not in _COMMON_CODECS and confidence < 0.3:
            continue  # DOS, Mac, EBCDIC … only when chardet is rather sure
        if codec == "iso8859-1":
            found.append(("cp1252", confidence))
        found.append((codec, confidence))
    found.extend((codec, 0.0) for codec in (*_DOMAIN_CODECS, "cp1252"))
    unique: dict[str, float] = {}
    for codec, confidence in found:
        unique.setdefault(codec, confidence)
    return list(unique.items())


def _guess_legacy(sample: bytes, final: bool) -> str | None:
    """The legacy (non-Unicode) codec that best explains ``sample``, or None."""
    scored: list[tuple[tuple[float, bool, float, int], str, str]] = []
    for rank, (codec, confidence) in enumerate(_candidates(sample)):
        text = _decode(sample, codec, final)
        if text is None or _decode(_ASCII_PROBE, codec, True) != _ASCII_PROBE.decode():
            continue
        bad, total = _implausible(text)
        ratio = bad / total if total else 0.0
        weight = confidence * (3.0 if codec in _DOMAIN_CODECS else 1.0)
        unlike_vietnamese = codec == "cp1258" and not _VIETNAMESE.search(text)
        scored.append(
            ((ratio if ratio > 0.02 else 0.0, unlike_vietnamese, -weight, rank), codec, text)
        )
    if not scored:
        return None
    scored.sort(key=lambda item: item[0])
    key, codec, text = scored[0]
    if key[0] > 0.3:
        return None
    if codec in _POLISH_PAIR:
        polish = sum(ch in _POLISH_LETTERS for ch in text)
        for other_key, other, other_text in scored[1:]:
            if other in _POLISH_PAIR and other_key[0] == key[0]:
                if sum(ch in _POLISH_LETTERS for ch in other_text) > polish:
                    codec = other
                break
    return codec


def _detection_window(raw: io.BufferedReader, head: bytes) -> tuple[bytes, bool]:
    """Bytes to detect the encoding from: ``head``, or, when ``head`` is ASCII,
    up to 64 KiB starting at the line of the first non-ASCII byte further on.
    Returns (window, whether the window reaches the end of the file)."""
    if not head.isascii() or len(head) < SAMPLE_BYTES:
        return head, len(head) < SAMPLE_BYTES
    raw.seek(len(head))
    while chunk := raw.read(_SCAN_BYTES):
        if chunk.isascii():
            continue
        first = next(i for i, byte in enumerate(chunk) if byte > 0x7F)
        begin = chunk.rfind(b"\n", 0, first) + 1
        window = chunk[begin : begin + SAMPLE_BYTES]
        if len(window) < SAMPLE_BYTES:
            window += raw.read(SAMPLE_BYTES - len(window))
        return window, len(window) < SAMPLE_BYTES
    return b"", True


def detect_encoding(
    raw: io.BufferedReader, head: bytes, label: str, *, declared: str | None = None
) -> str:
    """The codec of a text file whose first bytes are ``head``: its byte-order mark,
    else ``declared`` (what the file says of itself, as an HTML page's charset),
    else the one detected.

    Raises :class:`InvalidFile` (``file.encoding_unknown``) when no encoding fits.
    """
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    if declared:
        return declared
    by_nuls = utf_codec_by_nuls(head[:4096])
    if by_nuls:
        return by_nuls
    window, final = _detection_window(raw, head)
    if _decode(window, "utf-8", final) is not None:
        return "utf-8"
    guess = _guess_legacy(window, final)
    if guess is None:
        raise InvalidFile(
            "the text encoding of the file cannot be recognised; choose it explicitly"
            " (for example utf-8, windows-1250, iso-8859-2, gb18030, windows-1258)",
            code="file.encoding_unknown",
            file=label,
        )
    return guess


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV sample: one of ``, ; tab | :`` (``,`` when unclear).

    Each candidate is scored by how many of the sample's records it splits into
    its most common number of cells (more than one); the best score wins, and
    :class:`csv.Sniffer` decides between candidates that score the same."""
    scores: dict[str, float] = {}
    for delimiter in _DELIMITERS:
        counts: list[int] = []
        try:
            for row in csv.reader(io.StringIO(text), delimiter=delimiter):
                if any(row):
                    counts.append(len(row))
                    if len(counts) >= 1000:
                        break
        except csv.Error:
            continue
        if counts:
            mode, freq = Counter(counts).most_common(1)[0]
            if mode > 1:
                scores[delimiter] = freq / len(counts)
    if not scores:
        return ","
    top = max(scores.values())
    best = [d for d in _DELIMITERS if scores.get(d, -1.0) >= top - 1e-9]
    if len(best) == 1:
        return best[0]
    try:  # a tie: the Sniffer's choice among the best, if it is one of them
        sniffed = csv.Sniffer().sniff(text[:16384], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    return sniffed if sniffed in best else next(d for d in _DELIMITERS if scores.get(d) == top)


def read_sample(
    path: Path,
    label: str,
    encoding: str,
    *,
    declared: Callable[[bytes], str | None] | None = None,
) -> tuple[bytes, str]:
    """The first :data:`SAMPLE_BYTES` of the text file ``path`` and its codec:
    ``encoding``, or for ``"auto"`` the one :func:`detect_encoding` finds
    (``declared(head)`` names the one the file declares, if any). Raises
    :class:`InvalidFile` for an empty or unreadable file."""
    try:
        with open(path, "rb") as raw:
            head = raw.read(SAMPLE_BYTES)
            if not head:
                raise InvalidFile("the file is empty", code="file.empty", file=label)
            if encoding != "auto":
                return head, encoding
            said = declared(head) if declared is not None else None
            return head, detect_encoding(raw, head, label, declared=said)
    except OSError as exc:
        raise unreadable(label, exc) from None


class CsvTable(StreamingTable):
    """An open CSV file; :meth:`rows` streams its records (one row per CSV record,
    quoted newlines included). ``total_rows_hint`` is None: counting means reading."""

    def __init__(
        self, path: Path, info: TableInfo, codec: str, label: str, *, hint_line: bool = False
    ) -> None:
        super().__init__(info)
        self._path = path
        self._codec = codec
        self._label = label
        self._nfc = codecs.lookup(codec).name == "cp1258"
        self._delimiter = info.delimiter or ","
        self._hidden = int(hint_line)  # records before row 1: Excel's ``sep=`` line

    def _reader(self, raw: io.BufferedReader, errors: str) -> Iterator[list[str]]:
        text = io.TextIOWrapper(raw, encoding=self._codec, errors=errors, newline="")
        lines: Iterator[str] = map(_NFC, text) if self._nfc else text
        return marked_reader(map(_without_nul, lines), self._delimiter, _END)

    @contextmanager
    def _reading(self) -> Iterator[io.BufferedReader]:
        """The open file; what goes wrong reading its records becomes a
        :class:`InvalidFile` naming the file (and row)."""
        try:
            with open(self._path, "rb") as raw:
                yield raw
        except UnicodeDecodeError:
            raise self.decode_error() from None
        except csv.Error as exc:
            raise self._csv_error(exc) from None
        except OSError as exc:
            raise unreadable(self._label, exc) from None

    def _runs(
        self, raw: io.BufferedReader, *, columns: bool
    ) -> Iterator[Sequence[list[str]] | Iterator[list[str]]]:
        """The file's records in runs (see :func:`record_runs`; with ``columns``,
        the blocks of one width as columns)."""
        if self._nfc:
            return iter((self._reader(raw, "strict"),))
        return record_runs(raw, self._codec, self._delimiter, columns=columns, end_mark=_END)

    def _rows(self, start: int) -> Generator[tuple[int, list[str]]]:
        """The records from ``start`` on; a last record that a quote left open
        swallowed the rest of the file into is given as :mod:`csv` gives it
        (:meth:`row_chunks`, which imports read, refuses it)."""
        with self._reading() as raw:
            records = chain.from_iterable(self._runs(raw, columns=False))
            for number, record in enumerate(islice(records, start - 1 + self._hidden, None), start):
                if record and record[-1].endswith(_END):
                    record[-1] = record[-1].removesuffix(_END + self._delimiter + _END)
                yield number, record

    def _row_chunks(self, start: int, size: int) -> Generator[tuple[int, Sequence[list[str]]]]:
        """Records ``size`` at a time straight from the reader (no step per row; a
        chunk of blocks of one width is :class:`~massreach.row_columns.RowColumns`).

        A quote left open at the end of the file would make its record swallow every
        line after it, uncounted: the records before it are given, then
        :class:`InvalidFile` ``file.csv_unclosed_quote`` names its row and field."""
        with self._reading() as raw:
            number = start
            runs = runs_after(self._runs(raw, columns=True), start - 1 + self._hidden)
            for chunk in chunks_of_runs(runs, size):
                if type(chunk) is not RowColumns and chunk[-1] and chunk[-1][-1].endswith(_END):
                    if len(chunk) > 1:
                        yield number, chunk[:-1]
                    raise self._unclosed_quote(number + len(chunk) - 1, len(chunk[-1]))
                yield number, chunk
                number += len(chunk)

    def _unclosed_quote(self, row: int, field: int) -> InvalidFile:
        return InvalidFile(
            f"the quote that opens field {field} is never closed, so every line after it"
            ' would be read into that one field; close it, or write it twice ("") if it'
            " is part of the text, and import the file again",
            code="file.csv_unclosed_quote",
            file=self._label,
            row=row,
            details={"field": field},
        )

    def _locate(self, errors: str) -> tuple[int | None, int | None]:
        """Read the file again to find (row, field) of the first undecodable bytes
        (``errors="surrogateescape"``), or the row where :mod:`csv` gives up."""
        number = -self._hidden
        try:
            with open(self._path, "rb") as raw:
                for number, cells in enumerate(self._reader(raw, errors), 1 - self._hidden):
                    for field, cell in enumerate(cells, 1):
                        if _SURROGATE.search(cell):
                            return number, field
        except csv.Error:
            return number + 1, None
        except (OSError, UnicodeError):
            pass
        return None, None

    def decode_error(self) -> InvalidFile:
        """The error for bytes the codec rejects, naming the row and field."""
        row, column = self._locate("surrogateescape")
        name = self.info.encoding or self._codec
        how = "detected" if self.info.encoding_detected else "chosen"
        where = f" in field {column}" if column else ""
        return InvalidFile(
            f"bytes{where} are not valid {name} text (the encoding was {how});"
            " choose the file's real encoding",
            code="file.decode_error",
            file=self._label,
            row=row,
            details={"encoding": name, "field": column},
        )

    def _csv_error(self, exc: csv.Error) -> InvalidFile:
        row, _ = self._locate("replace")
        return InvalidFile(
            f"the CSV structure is broken ({exc}); a quote may be opened and never closed",
            code="file.csv_malformed",
            file=self._label,
            row=row,
            details={"reason": str(exc)},
        )


class CsvReader:
    """Reads delimited text files (``format == "csv"``) with the :mod:`csv` module."""

    name = "csv"
    formats: tuple[str, ...] = ("csv",)
    priority = 0

    def open(
        self, path: Path, options: ReadOptions, *, display_name: str | None = None
    ) -> CsvTable:
        """Detect encoding and delimiter (unless given) and open ``path``."""
        path = Path(path)
        label = file_label(path, display_name)
        detected = options.encoding == "auto"
        head, codec = read_sample(path, label, options.encoding)
        bom_codec = next((c for bom, c in _BOMS if head.startswith(bom)), "")
        if not detected and display_codec(codec).startswith(bom_codec.removesuffix("-sig") or "-"):
            codec = bom_codec  # "utf-8" given for a file with a BOM: skip the BOM
        final = len(head) < SAMPLE_BYTES
        text = codecs.getincrementaldecoder(codec)("replace").decode(head, final)
        if codecs.lookup(codec).name == "cp1258":
            text = _NFC(text)
        if not final and "\n" in text:
            text = text[: text.rindex("\n") + 1]
        sniffed = options.delimiter == "auto"
        hinted = delimiter_hint(text)
        delimiter = (hinted or sniff_delimiter(text)) if sniffed else options.delimiter
        info = TableInfo(
            format="csv",
            reader=self.name,
            encoding=display_codec(codec),
            encoding_detected=detected,
            delimiter=delimiter,
            delimiter_detected=sniffed,
        )
        table = CsvTable(path, info, codec, label, hint_line=hinted is not None)
        if _decode(head, codec, final) is None:
            raise table.decode_error()
        return table


@hookimpl(trylast=True)
def massreach_register_readers(register: Callable[[TableReader], None]) -> None:
    """Register the built-in CSV reader."""
    register(CsvReader())
