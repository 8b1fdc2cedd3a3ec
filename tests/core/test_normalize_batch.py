"""A batch normalised a column at a time gives exactly the row-by-row records."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from massreach.core.mapping import propose_mapping
from massreach.core.normalize import ImportedRecord, NormalizeOptions, RowNormalizer
from massreach.core.normalize_batch import COLUMN_PHONES_FROM, normalize_rows
from massreach.row_columns import RowColumns

HEADER_SETS = [
    ["SĐT", "Họ tên", "Email", "Nhãn", "param0", "param1", "Số dư"],
    ["telefon", "imię", "nazwisko", "płeć", "e-mail", "tag", "status", "data", "agent"],
    ["phone", "email", "crm id", "status", "contact date", "agent", "description"],
    ["mobile", "name", "gender", "param2"],
    ["email", "tag", "custom"],
    ["crm id", "status"],
    ["phone"],
]

SAMPLES = [
            "", " ", "0912345678", " 091 234 5678 ", "+84 912 345 678", "84912345678.0",
            "(091) 2345678", "0912", "09xxxxxxxx", "+48 601 234 567", "601234567",
            "a@example.vn", " A@Example.VN ", "bad@", "x@y", "vip", "vip; new", "vip|vip",
            " new ", "Nữ", "nam", "K", "M", "女", "?", "unprocessed", "follow up", "my record",
            "succeeded", "nope", "2026-11-23 10:00", "23/11/2026", "31/02/2026", "agent7",
            "Jan", "Kowalski", "DH0000001", "\ufeff", "\u200b", "=1+1", "x\ny",
]  # fmt: skip
CELLS = st.one_of(st.sampled_from(SAMPLES), st.text(max_size=12))


GOOD = {
    "phone": ["0912345678", " 091 234 5678 ", "+84 912 345 678", "84912345679.0", "601234567",
              "+48 601 234 567", "(091) 2345670", ""],
    "email": ["a@example.vn", " A@Example.VN ", "Zoë@Exämple.pl", ""],
    "name": ["An", " Nguyễn Văn A ", ""],
    "first_name": ["Jan", ""],
    "last_name": ["Kowalski", ""],
    "gender": ["K", "m", "Nữ", "女", ""],
    "tag": ["vip", " new ", "vip; new", "a|b，c", ""],
    "status": ["unprocessed", "follow up", "succeeded", "my record", ""],
    "contact_date": ["2026-11-23 10:00", "23/11/2026", ""],
    "agent": ["agent7", ""],
    "crm_id": ["DH0000001", " DH2 ", ""],
    "description": ["note", ""],
}  # fmt: skip


def _cell(target: str | None) -> st.SearchStrategy[str]:
    good = GOOD.get(target or "", ["1", " x ", ""])
    return st.one_of(st.sampled_from(good), st.sampled_from(good), CELLS)


@st.composite
def batches(draw: st.DrawFn) -> tuple[RowNormalizer, list[int], list[list[str]]]:
    headers = draw(st.sampled_from(HEADER_SETS))
    kind = draw(st.sampled_from(["bulk_send", "crm_status", "calling"]))
    region = draw(st.sampled_from(["VN", "PL"]))
    tags = draw(st.sampled_from([(), ("campaign",), ("vip", "extra")]))
    mapping = propose_mapping(headers)
    normalizer = RowNormalizer(
        mapping, NormalizeOptions(kind=kind, default_region=region, constant_tags=tags)
    )
    plain = st.tuples(*(_cell(t) for t in mapping.targets)).map(list)
    ragged = st.lists(CELLS, min_size=max(0, len(headers) - 2), max_size=len(headers) + 2)
    rows = draw(st.lists(st.one_of(plain, plain, plain, ragged), max_size=30))
    # Large slices check phones a column at a time: repeat the rows past that size.
    if rows and draw(st.booleans()):
        rows = rows * -(-COLUMN_PHONES_FROM // len(rows))
    numbers = sorted(draw(st.sets(st.integers(2, 100_000), min_size=len(rows), max_size=len(rows))))
    return normalizer, numbers, rows


def _row_by_row(
    normalizer: RowNormalizer, numbers: Sequence[int], rows: Sequence[Sequence[str]]
) -> list[object]:
    return [normalizer.normalize(n, r) for n, r in zip(numbers, rows, strict=True)]


@settings(max_examples=400, deadline=None)
@given(batches())
def test_columns_give_the_row_by_row_records(
    batch: tuple[RowNormalizer, list[int], list[list[str]]],
) -> None:
    normalizer, numbers, rows = batch
    got = normalize_rows(normalizer, numbers, rows)
    expected = _row_by_row(normalizer, numbers, rows)
    assert got == expected
    widths = set(map(len, rows))
    if len(widths) == 1 and 0 not in widths:  # as a CSV reader gives a block of one width
        as_columns = RowColumns([list(column) for column in zip(*rows, strict=True)], len(rows))
        assert normalize_rows(normalizer, numbers, as_columns) == expected
    # Same types and field order too (records compare as tuples).
    assert [type(x) for x in got] == [type(x) for x in expected]
    for a, b in zip(got, expected, strict=True):
        if isinstance(a, ImportedRecord):
            assert list(a.fields.items()) == list(b.fields.items())  # type: ignore[union-attr]


def test_a_plain_batch_and_its_odd_rows() -> None:
    headers = HEADER_SETS[0]
    normalizer = RowNormalizer(propose_mapping(headers), NormalizeOptions(kind="bulk_send"))
    rows = [
        ["0912345678", "An", "a@example.vn", "vip", "1", "", "5"],
        ["0912345679", "Bình", "", "vip, new", "2", "x", ""],
        ["09xxxxxxxx", "Bad", "", "vip", "", "", ""],  # invalid phone
        ["0912345680", "Short"],  # fewer cells: read with the rest empty
        ["0912345681", "Long", "", "vip", "", "", "", "extra"],  # misaligned
        ["", "", "", "vip", "", "", ""],  # no target
    ]
    numbers = [2, 3, 4, 5, 6, 7]
    got = normalize_rows(normalizer, numbers, rows)
    assert got == _row_by_row(normalizer, numbers, rows)
    first = got[0]
    assert isinstance(first, ImportedRecord)
    assert first.phone == "+84912345678" and first.email_key == "a@example.vn"
    assert dict(first.fields) == {"param0": "1", "Số dư": "5"}
    assert [type(x).__name__ for x in got] == [
        "ImportedRecord", "ImportedRecord", "RowFailure", "RowFailure", "RowFailure",
        "RowFailure",
    ]  # fmt: skip


def test_an_empty_batch() -> None:
    normalizer = RowNormalizer(propose_mapping(["phone"]), NormalizeOptions(kind="calling"))
    assert normalize_rows(normalizer, [], []) == []
