"""CSV records read a block at a time: the same records as :mod:`csv`, cheaper.

:func:`split_records` gives exactly what ``csv.reader(io.TextIOWrapper(raw,
encoding, newline=""), delimiter=delimiter)`` gives with NUL characters dropped
(a hypothesis property of the test-suite checks this over generated files,
encodings and block sizes), but a
block of text with no quote and no carriage return -- the usual export -- is
split by ``str.split``: first into lines, then each line at the delimiter. That is
what :mod:`csv` does with such text, at a third less work a row (no step per
character, no line read through the text layer).

The file is decoded with the codec's incremental decoder a block at a time, and
each block is cut after its last line break, so that a line never straddles two
blocks. A block's lines must all end alike, with ``\\n`` or with ``\\r\\n``. From the
first block with a quote (a quoted field may hold delimiters and line breaks, and
span blocks), mixed or lone ``\\r`` line ends, or a line longer than :mod:`csv`'s
field limit, the rest of the file goes through :mod:`csv` itself, fed the same
lines the text layer would give it.

For an import, :func:`record_runs` gives the records a block at a time, and a
block whose lines all have as many cells (the usual export) comes as
:class:`~massreach.row_columns.RowColumns`: split once at the delimiter straight
into columns, with no list per record for the normaliser to turn into columns
again. :func:`chunks_of_runs` cuts the runs into the import's batches.

Bytes the codec rejects raise :class:`UnicodeDecodeError` when their block is
decoded: the records before that block have been given, those of the block before
the bad bytes have not (the text layer likewise decodes 8 KiB at a time).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import deque
from collections.abc import Iterator, Sequence
from functools import partial
from itertools import chain, islice, repeat
from typing import BinaryIO, cast

from massreach.row_columns import RowColumns

__all__ = ["chunks_of_runs", "marked_reader", "record_runs", "runs_after", "split_records"]

#: Bytes decoded at a time.
BLOCK_BYTES = 64 * 1024


def split_records(
    raw: BinaryIO, encoding: str, delimiter: str, *, block_bytes: int = BLOCK_BYTES
) -> Iterator[list[str]]:
    """The records of the binary file ``raw`` (from where it stands), as lists of
    cells. Decoding errors and :class:`csv.Error` are raised as :mod:`csv` over a
    text layer would raise them (see the module doc)."""
    return chain.from_iterable(record_runs(raw, encoding, delimiter, block_bytes=block_bytes))


def record_runs(
    raw: BinaryIO,
    encoding: str,
    delimiter: str,
    *,
    block_bytes: int = BLOCK_BYTES,
    columns: bool = False,
    end_mark: str | None = None,
) -> Iterator[Sequence[list[str]] | Iterator[list[str]]]:
    """The records of :func:`split_records` in runs: each block's records as a
    list, or once the blocks need :mod:`csv`, its reader over the rest (an
    iterator). With ``columns``, a block whose lines all have the same number of
    cells is a :class:`~massreach.row_columns.RowColumns`, split straight into
    columns (no list per record).

    ``end_mark`` (a character no file holds) tells a quote left open at the end of
    the file, which :mod:`csv` closes without a word (:func:`marked_reader`)."""
    blocks = _text_blocks(raw, encoding, block_bytes)
    return _record_runs(blocks, delimiter, columns=columns, end_mark=end_mark)


def _record_runs(
    blocks: Iterator[str], delimiter: str, *, columns: bool = False, end_mark: str | None = None
) -> Iterator[Sequence[list[str]] | Iterator[list[str]]]:
    for text in blocks:
        if columns and (cells := _columns(text, delimiter)) is not None:
            yield cells
            continue
        lines = None if '"' in text else _split_lines(text)
        limit = csv.field_size_limit()
        if lines is not None and len(text) > limit and max(map(len, lines)) > limit:
            lines = None  # a field may be longer than csv accepts: csv decides
        if lines is None:
            if end_mark is None:
                yield csv.reader(_lines(text, blocks), delimiter=delimiter)
            else:
                yield marked_reader(_lines(text, blocks), delimiter, end_mark)
            return
        if text.endswith("\n"):
            lines.pop()  # the text after the last line end: none
        if "" in lines:  # an empty line is a record of no cells for csv
            yield [line.split(delimiter) if line else [] for line in lines]
        else:
            yield list(map(str.split, lines, repeat(delimiter)))


#: Marks where a line began in :func:`_columns` (a block holding it is not split so;
#: not NUL, which ``in`` finds slowly).
_MARK = "\x1e"


def _columns(text: str, delimiter: str) -> RowColumns | None:
    """The records of a block as columns when it has no quote, one kind of line
    end, no empty line and as many cells on every line as on the first; else None.

    Every line end becomes the delimiter and a mark, and the text is split once at
    the delimiter: a line of ``width`` cells then gives ``width`` cells, the first
    of which starts with the mark. Each cell holds at most one mark (only ever
    right after a delimiter), so when the cells at ``width``, ``2 × width`` … hold
    every mark between them, every line has ``width`` cells. C-level passes over
    the block, none per line (and no search for two characters: slow)."""
    if '"' in text or _MARK in text or len(text) > csv.field_size_limit():
        return None
    end = "\n"
    if "\r" in text:
        returns = text.count("\r")
        if not returns == text.count("\r\n") == text.count("\n"):
            return None  # mixed or lone carriage returns
        end = "\r\n"
    if not text.endswith(end):
        text += end
    first_line = text[: text.index(end)]
    width = first_line.count(delimiter) + 1
    if width == 1:  # also where the first line is empty
        if delimiter in text or text.startswith(end) or end + end in text:
            return None  # more cells on some line, or an empty line: a record of none
        lines = text.split(end)
        lines.pop()  # after the last line end: nothing
        return RowColumns([lines], len(lines))
    marked_text = text.replace(end, delimiter + _MARK)
    # An empty line now has one cell: the width tells it (as any other short line).
    count = len(marked_text) - len(text) if end == "\n" else text.count(end)
    cells = marked_text.split(delimiter)
    if len(cells) != count * width + 1:
        return None
    marked = "".join(cells[width::width])  # the first cells of lines 2 … and the end
    if marked.count(_MARK) != count:
        return None
    firsts = marked.split(_MARK)  # "", then the first cells of lines 2 …, then ""
    firsts[0] = cells[0]
    firsts.pop()
    return RowColumns([firsts, *(cells[i::width] for i in range(1, width))], count)


def _split_lines(text: str) -> list[str] | None:
    """The lines of ``text`` when they all end alike, with ``\n`` (Unix) or with
    ``\r\n`` (Windows, Excel), line ends dropped; else None (csv decides)."""
    returns = text.count("\r")
    if not returns:
        return text.split("\n")
    if returns == text.count("\r\n") == text.count("\n"):
        return text.split("\r\n")
    return None


def _text_blocks(raw: BinaryIO, encoding: str, block_bytes: int) -> Iterator[str]:
    """The decoded file in blocks that each end with a line break (the last one
    may not), none empty; NUL characters (the padding of some old exports, which
    no cell means and PostgreSQL cannot store) are dropped."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    rest = ""
    while True:
        data = raw.read(block_bytes)
        text = rest + decoder.decode(data, final=not data)
        if "\x00" in text:
            text = text.replace("\x00", "")
        if not data:
            if text:
                yield text
            return
        cut = text.rfind("\n") + 1
        if not cut:  # no line feed: old Mac line ends, or a very long line
            # After a lone "\r", which is a line end whatever follows (not "\n":
            # there is none here).
            cut = text.rfind("\r", 0, len(text) - 1) + 1
        if cut:
            rest = text[cut:]
            yield text[:cut]
        else:
            rest = text


def marked_reader(lines: Iterator[str], delimiter: str, end_mark: str) -> Iterator[list[str]]:
    """:mod:`csv`'s records of ``lines``, told whether a quote was left open.

    :mod:`csv` is given one more line after the last: two cells of ``end_mark``.
    When a quoted field is still open, that line goes into it, so the last cell of
    the last record (which swallowed the rest of the file) ends with the line;
    otherwise the line is a record of its own, where the records stop."""
    reader = csv.reader(chain(lines, (end_mark + delimiter + end_mark,)), delimiter=delimiter)
    return iter(reader.__next__, [end_mark, end_mark])


def _lines(first: str, blocks: Iterator[str]) -> Iterator[str]:
    """The lines of ``first`` and the blocks after it as the text layer
    (``newline=""``) gives them: cut after ``\n``, ``\r\n`` or a lone ``\r``,
    line ends kept."""
    yield from io.StringIO(first, newline="")
    for text in blocks:
        yield from io.StringIO(text, newline="")


def runs_after(
    runs: Iterator[Sequence[list[str]] | Iterator[list[str]]], count: int
) -> Iterator[Sequence[list[str]] | Iterator[list[str]]]:
    """``runs`` without their first ``count`` records."""
    for run in runs:
        if count <= 0:
            yield run
        elif isinstance(run, Sequence):
            if len(run) > count:
                yield run[count:]
            count -= len(run)
        else:
            deque(islice(run, count), maxlen=0)
            count = 0
            yield run


def chunks_of_runs(
    runs: Iterator[Sequence[list[str]] | Iterator[list[str]]], size: int
) -> Iterator[Sequence[list[str]]]:
    """The records of ``runs`` in chunks of ``size`` (the last one may be shorter,
    none is empty). A chunk made only of :class:`RowColumns` of one width is one
    too; any other chunk is a list of records."""
    pending: list[Sequence[list[str]]] = []
    have = 0
    for run in runs:
        pieces: Iterator[Sequence[list[str]]] = (
            iter((run,)) if isinstance(run, Sequence) else iter(partial(_take, run, size), [])
        )
        for piece in pieces:
            at, length = 0, len(piece)
            while at < length:
                room = size - have
                part = piece if at == 0 and length <= room else piece[at : at + room]
                pending.append(part)
                have += len(part)
                at += len(part)
                if have == size:
                    yield _joined(pending)
                    pending, have = [], 0
    if pending:
        yield _joined(pending)


def _take(records: Iterator[list[str]], size: int) -> list[list[str]]:
    return list(islice(records, size))


def _joined(parts: list[Sequence[list[str]]]) -> Sequence[list[str]]:
    if len(parts) == 1:
        return parts[0]
    if all(type(part) is RowColumns for part in parts):
        columnar = cast("list[RowColumns]", parts)
        if len({part.width for part in columnar}) == 1:
            return RowColumns.joined(columnar)
    return list(chain.from_iterable(parts))
