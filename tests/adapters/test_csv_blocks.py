"""Records split a block at a time are exactly the records of csv over a text layer
(with NUL characters dropped)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from itertools import chain

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from massreach.adapters.csv_blocks import chunks_of_runs, record_runs, runs_after, split_records
from massreach.row_columns import RowColumns

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1250", "gb18030")
PIECES = st.sampled_from(
    [
        *["a", "Zż", "12", " ", ",", ";", "\t", "|", '"', '""', "\n", "\r", "\r\n", "\n\n"],
        *["\x00", "ą", "中文", "số", "\u2028", "\x0b", "\x1c", "\x85", "x" * 40],
    ]
)
TEXT = st.lists(PIECES, max_size=60).map("".join)


def through_csv(data: bytes, encoding: str, delimiter: str) -> tuple[list[list[str]], type | None]:
    """The reference: csv over the text layer, the text's NUL characters dropped."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    return collect(csv.reader(lines_without_nuls(text), delimiter=delimiter))


def lines_without_nuls(text: io.TextIOWrapper) -> Iterator[str]:
    """The lines (``newline=""``) of ``text`` read 8 KiB at a time with every NUL
    dropped first ("\r\x00\n" is one line end); a decoding error is raised when the
    text layer meets it."""
    pending = ""
    while chunk := text.read(8192):
        pending += chunk.replace("\x00", "")
        lines = io.StringIO(pending, newline="").readlines()
        # The last line may go on in the next chunk ("\r" may be half of "\r\n").
        pending = lines.pop() if lines and not lines[-1].endswith("\n") else ""
        yield from lines
    yield from io.StringIO(pending, newline="").readlines()


def through_blocks(
    data: bytes, encoding: str, delimiter: str, block: int
) -> tuple[list[list[str]], type | None]:
    return collect(split_records(io.BytesIO(data), encoding, delimiter, block_bytes=block))


def through_chunks(
    data: bytes, encoding: str, delimiter: str, block: int, size: int, skip: int
) -> tuple[list[list[str]], type | None]:
    """The records of :func:`chunks_of_runs` (blocks of one width as columns) after
    ``skip`` records; every chunk but the last holds ``size``."""
    runs = record_runs(io.BytesIO(data), encoding, delimiter, block_bytes=block, columns=True)
    sizes: list[int] = []

    def records() -> Iterator[list[str]]:
        for chunk in chunks_of_runs(runs_after(runs, skip), size):
            sizes.append(len(chunk))
            assert type(chunk) in (list, RowColumns)
            yield from chunk

    got = collect(records())
    assert all(n == size for n in sizes[:-1]) and all(0 < n <= size for n in sizes)
    return got


def collect(records: Iterator[list[str]]) -> tuple[list[list[str]], type | None]:
    got: list[list[str]] = []
    try:
        for record in records:
            got.append(record)
    except (csv.Error, UnicodeDecodeError) as exc:
        return got, type(exc)
    return got, None


@settings(max_examples=1500, deadline=None)
@given(TEXT, st.sampled_from(ENCODINGS), st.sampled_from(",;\t|"), st.integers(1, 70))
@example("a,b\nc,d\n", "utf-8", ",", 3)
@example("a,b\r\nc,d\r\n", "utf-8", ",", 4)
@example('a,"b\nc"\nd\n', "utf-8", ",", 2)
@example("a\rb\rc", "utf-8", ",", 2)
@example("a\n\n,\n", "utf-8", ",", 1)
@example("a,\x00b\r\x00\nc\x00\x00,d\n", "utf-8", ",", 3)  # NULs dropped, across blocks
def test_the_same_records_as_csv(text: str, encoding: str, delimiter: str, block: int) -> None:
    data = text.encode(encoding, "replace")
    assert through_blocks(data, encoding, delimiter, block) == through_csv(
        data, encoding, delimiter
    )


LINE = st.lists(st.sampled_from(["", "a", "Zż", "12", " ", "số", "中文", "x" * 30]), max_size=3)


@settings(max_examples=800, deadline=None)
@given(
    st.one_of(
        TEXT,
        # Lines of one width (the blocks that become columns), a few odd ones between,
        # ending alike with \n or \r\n, the last one with or without its line end.
        st.tuples(
            st.integers(1, 4).flatmap(
                lambda width: st.lists(
                    st.one_of(
                        st.lists(LINE.map("".join), min_size=width, max_size=width).map(",".join),
                        st.sampled_from(["", "a", "a,b,c,d,e", '"q,r"', "\x00", "a\rb"]),
                    ),
                    max_size=40,
                )
            ),
            st.sampled_from(["\n", "\r\n"]),
            st.booleans(),
        ).map(lambda t: t[1].join(t[0]) + (t[1] if t[2] else "")),
    ),
    st.sampled_from(("utf-8", "utf-16")),
    st.integers(1, 90),
    st.integers(1, 12),
    st.integers(0, 5),
)
@example("a,b\nc,d\ne,f\n", "utf-8", 4, 2, 1)
@example("a,b\nc,d,e,f\n", "utf-8", 90, 5, 0)  # as many cells as two lines of two
@example("a,b\nc\nd,e,f\n", "utf-8", 90, 5, 0)  # one short line, one long
def test_chunks_hold_the_same_records_as_csv(
    text: str, encoding: str, block: int, size: int, skip: int
) -> None:
    """Chunked (blocks of one width as columns), the records are still csv's."""
    data = text.encode(encoding, "replace")
    records, error = through_csv(data, encoding, ",")
    assert through_chunks(data, encoding, ",", block, size, skip) == (records[skip:], error)


@settings(max_examples=600, deadline=None)
@given(
    st.lists(st.one_of(PIECES.map(str.encode), st.binary(max_size=3)), max_size=40).map(b"".join),
    st.sampled_from(("utf-8", "gb18030")),
    st.integers(1, 70),
)
def test_bytes_the_codec_rejects_fail_alike(data: bytes, encoding: str, block: int) -> None:
    """Both fail on undecodable bytes (or neither does), and agree up to there: the
    blocks may stop a few rows earlier or later than the text layer's 8 KiB reads."""
    fast, fast_error = through_blocks(data, encoding, ",", block)
    slow, slow_error = through_csv(data, encoding, ",")
    assert fast_error == slow_error
    if fast_error is None:
        assert fast == slow
    else:
        shorter = min(len(fast), len(slow))
        assert fast[:shorter] == slow[:shorter]


MARK = "\ufdd0"


@settings(max_examples=800, deadline=None)
@given(TEXT, st.sampled_from(("utf-8", "utf-16")), st.integers(1, 70))
@example('a,"b\nc\n', "utf-8", 3)
@example('a,"b"\n', "utf-8", 3)
@example('"', "utf-8", 1)
def test_an_end_mark_tells_a_quote_left_open_and_changes_nothing_else(
    text: str, encoding: str, block: int
) -> None:
    """With ``end_mark``, the records are csv's, but for the last cell of a record
    that a quote never closed swallowed the rest into: it ends with the mark."""
    data = text.encode(encoding, "replace")
    plain, error = through_csv(data, encoding, ",")
    runs = record_runs(io.BytesIO(data), encoding, ",", block_bytes=block, end_mark=MARK)
    marked, marked_error = collect(chain.from_iterable(runs))
    assert marked_error == error
    cells = [cell for record in marked for cell in record]
    assert all(MARK not in cell for cell in cells[:-1])
    if cells and cells[-1].endswith(MARK):
        assert marked[:-1] == plain[:-1]
        assert marked[-1][:-1] == plain[-1][:-1]
        assert marked[-1][-1].removesuffix(MARK + "," + MARK) == plain[-1][-1]
        # csv's own strict mode would refuse the file too (for this or another reason).
        with pytest.raises(csv.Error):
            list(csv.reader(io.StringIO(data.decode(encoding).replace("\x00", "")), strict=True))
    else:
        assert marked == plain
        try:
            list(csv.reader(io.StringIO(data.decode(encoding).replace("\x00", "")), strict=True))
        except csv.Error as exc:
            assert "unexpected end of data" not in str(exc)  # no quote left open


@given(TEXT, st.integers(1, 70))
@example("a,bbbbbbbbbbbb\nc\n", 40)
def test_a_line_longer_than_the_field_limit_is_left_to_csv(text: str, block: int) -> None:
    data = text.encode()
    before = csv.field_size_limit(8)
    try:
        assert through_blocks(data, "utf-8", ",", block) == through_csv(data, "utf-8", ",")
    finally:
        csv.field_size_limit(before)


def test_quote_free_blocks_are_split_without_csv() -> None:
    """The usual file, then a quote in its last block."""
    data = "".join(f"{i},name {i},{i}@example.vn\n" for i in range(3000)).encode()
    records = list(split_records(io.BytesIO(data), "utf-8", ","))
    assert records == [[str(i), f"name {i}", f"{i}@example.vn"] for i in range(3000)]
    with_quote = data + b'"x",y\n'
    assert list(split_records(io.BytesIO(with_quote), "utf-8", ","))[-1] == ["x", "y"]


def test_a_file_of_one_width_is_chunked_as_columns() -> None:
    data = "".join(f"{i},name {i},{i}@example.vn\n" for i in range(3000)).encode()
    runs = record_runs(io.BytesIO(data), "utf-8", ",", block_bytes=4096, columns=True)
    chunks = list(chunks_of_runs(runs_after(runs, 1), 1000))
    assert [len(chunk) for chunk in chunks] == [1000, 1000, 999]
    assert all(type(chunk) is RowColumns for chunk in chunks)
    first = chunks[0]
    assert isinstance(first, RowColumns)
    assert first.columns[1][:2] == ["name 1", "name 2"] and first[0] == [
        "1",
        "name 1",
        "1@example.vn",
    ]
    # A block with a quote goes through csv: its chunk is a list of records.
    with_quote = data + b'"x",y,z\n'
    runs = record_runs(io.BytesIO(with_quote), "utf-8", ",", block_bytes=4096, columns=True)
    last = list(chunks_of_runs(runs, 1000))[-1]
    assert type(last) is list and last[-1] == ["x", "y", "z"]
