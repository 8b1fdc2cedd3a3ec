"""Batches kept as columns give what their records give: the planner's decisions, the
lookup keys and the stored contact columns are the same as from the records themselves."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.test_dedup import LIST_ID, PLAN_ID, items, policies, stored

from massreach.adapters.sql_dialect import (
    Dialect,
    encode_field_columns,
    encode_fields_column,
    encode_json,
)
from massreach.adapters.sql_rows import record_values
from massreach.core.dedup import lookup_keys, plan_batch
from massreach.core.normalize import ImportedRecord, RowFailure
from massreach.core.record_batch import RecordBatch, RecordSelection
from massreach.model import Contact, DuplicatePolicy, ImportBatch


def as_batch(found: list[ImportedRecord | RowFailure], row_by_row: set[int]) -> RecordBatch:
    """``found`` as the normaliser's columns would hold it: failures, and the
    records at ``row_by_row``, as overrides; every other record in the columns."""
    names = sorted({k for r in found if isinstance(r, ImportedRecord) for k in r.fields})
    plain = [
        r if isinstance(r, ImportedRecord) and i not in row_by_row else None
        for i, r in enumerate(found)
    ]

    def column(attribute: str) -> list[Any]:
        return [None if r is None else getattr(r, attribute) for r in plain]

    return RecordBatch(
        [r.row for r in found],
        column("phone"), column("email"), column("name"), column("description"),
        column("gender"), column("crm_id"), column("tags"),
        names, [[(r.fields.get(n, "") if r else "") for r in plain] for n in names],
        column("status"), column("agent"), column("email_key"),
        {i: r for i, r in enumerate(found) if plain[i] is None},
    )  # fmt: skip


def _columns(values: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: list(column) for name, column in values.items()}


@settings(max_examples=400, deadline=None)
@given(
    items(),
    stored(),
    policies,
    st.sampled_from(["bulk_send", "calling", "crm_status"]),
    st.sets(st.integers(0, 30), max_size=4),
)
def test_a_batch_of_columns_plans_and_stores_as_its_records(
    found: list[ImportedRecord | RowFailure],
    existing: list[Contact],
    policy: DuplicatePolicy,
    kind: str,
    row_by_row: set[int],
) -> None:
    batch = as_batch(found, row_by_row)
    assert batch.items() == found
    assert list(batch) == found and len(batch) == len(found)
    assert [batch[i] for i in range(len(found))] == found
    assert lookup_keys(kind, batch) == lookup_keys(kind, found)
    args: dict[str, Any] = {
        "plan_id": PLAN_ID, "list_id": LIST_ID, "kind": kind, "policy": policy,
        "existing": existing, "cursor": 600,
    }  # fmt: skip
    fast = plan_batch(items=batch, **args)
    reference = plan_batch(items=found, **args)
    assert fast == reference
    inserts = fast.inserts
    if isinstance(inserts, RecordSelection):
        records = tuple(inserts)
        assert inserts == records and records == inserts
        assert hash(inserts) == hash(records)
        d = Dialect()
        assert _columns(record_values(d, inserts)) == _columns(record_values(d, records))
        assert ImportBatch(PLAN_ID, LIST_ID, records, (), (), fast.counts, 600) == (
            ImportBatch(PLAN_ID, LIST_ID, inserts, (), (), fast.counts, 600)
        )


def test_the_planner_keeps_the_inserts_as_columns() -> None:
    """The usual batch: inserts stay indexes into the batch, failures are left out."""
    found: list[ImportedRecord | RowFailure] = [
        ImportedRecord(row=n, phone=f"+8491234{n:04d}", tags=("t",), fields={"p": str(n)})
        for n in range(2, 12)
    ]
    found[3] = RowFailure(row=5, code="phone.invalid", column="phone", message="x")
    found[6] = ImportedRecord(row=8, phone="+84912340002", tags=("t",))  # repeats row 2
    batch = as_batch(found, set())
    planned = plan_batch(
        plan_id=PLAN_ID, list_id=LIST_ID, kind="bulk_send", policy=DuplicatePolicy(),
        items=batch, existing=[], cursor=11,
    )  # fmt: skip
    assert isinstance(planned.inserts, RecordSelection)
    assert list(planned.inserts.indexes) == [0, 1, 2, 4, 5, 7, 8, 9]
    assert [r.row for r in planned.inserts] == [2, 3, 4, 6, 7, 9, 10, 11]
    assert (planned.counts.failed, planned.counts.duplicates) == (1, 1)
    values = record_values(Dialect(), planned.inserts)
    assert list(values["fields"]) == [f'{{"p":"{n}"}}' for n in (2, 3, 4, 6, 7, 9, 10, 11)]


def test_batches_join_and_index_like_lists() -> None:
    first = as_batch([ImportedRecord(row=2, phone="+84912340001", fields={"a": "1"})], set())
    failure = RowFailure(row=3, code="phone.invalid", column="phone", message="x")
    second = as_batch([failure, ImportedRecord(row=4, fields={"a": "2"})], set())
    joined = RecordBatch.joined([first, second])
    assert [item.row for item in joined] == [2, 3, 4]
    assert joined[1] is failure and joined[-1] == second[1]
    assert joined[1:] == [failure, second[1]]
    with pytest.raises(IndexError):
        joined[3]
    with pytest.raises(ValueError, match="row 3"):
        joined.record(1)
    assert joined.failures() == [failure]
    assert joined == list(joined) and joined != "abc"


def test_consecutive_row_ranges_join_as_one_range() -> None:
    def part(numbers: range | list[int]) -> RecordBatch:
        records = [ImportedRecord(row=n, phone=f"+8491234{n:04d}") for n in numbers]
        batch = as_batch(list(records), set())
        batch.numbers = numbers
        return batch

    joined = RecordBatch.joined([part(range(2, 5)), part(range(5, 7))])
    assert joined.numbers == range(2, 7) and [r.row for r in joined] == [2, 3, 4, 5, 6]
    gap = RecordBatch.joined([part(range(2, 5)), part(range(6, 7))])
    assert gap.numbers == [2, 3, 4, 6] and [r.row for r in gap] == [2, 3, 4, 6]
    listed = RecordBatch.joined([part(range(2, 4)), part([4, 5])])
    assert listed.numbers == [2, 3, 4, 5]


@given(
    st.lists(st.text(max_size=4), min_size=0, max_size=3, unique=True),
    st.integers(0, 6),
    st.data(),
)
def test_field_columns_are_encoded_as_their_dicts(
    names: list[str], count: int, data: st.DataObject
) -> None:
    cell = st.one_of(st.just(""), st.text(max_size=5))
    columns = [data.draw(st.lists(cell, min_size=count, max_size=count)) for _ in names]
    rows = [
        {n: column[i] for n, column in zip(names, columns, strict=True) if column[i]}
        for i in range(count)
    ]
    assert encode_field_columns(names, columns, count) == encode_fields_column(rows)


_FIELD_TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from('"\\\x00\x1f\x7f\u2028\ud800é中'),
        st.characters(min_codepoint=0x30, max_codepoint=0x39),
    ),
    min_size=1,
    max_size=6,
)


@given(
    st.lists(st.text(max_size=4), min_size=1, max_size=4, unique=True),
    st.integers(1, 6),
    st.booleans(),
    st.data(),
)
def test_written_field_columns_are_stored_json(
    names: list[str], count: int, plain: bool, data: st.DataObject
) -> None:
    """Every value written (the common batch): each row is exactly what the JSON
    encoder writes for its dict, whether or not some value needs escaping."""
    cell = st.from_regex(r"[A-Za-z0-9 .@-]{1,8}", fullmatch=True) if plain else _FIELD_TEXT
    columns = [data.draw(st.lists(cell, min_size=count, max_size=count)) for _ in names]
    rows = [{n: column[i] for n, column in zip(names, columns, strict=True)} for i in range(count)]
    assert encode_field_columns(names, columns, count) == [encode_json(r) for r in rows]


@given(
    st.lists(
        st.one_of(
            _FIELD_TEXT,
            st.from_regex(r"\+[0-9]{8,15}|[a-z0-9.]{1,6}@[a-z]{1,5}\.vn", fullmatch=True),
        ),
        max_size=6,
    ),
    st.sampled_from([list, tuple, iter]),
)
def test_a_list_parameter_is_the_stored_json_of_its_values(values: list[str], kind: Any) -> None:
    """Texts that JSON writes as they are (phone numbers, e-mail keys) are joined;
    any other list is encoded: either way the text :func:`encode_json` writes."""
    assert Dialect().many(kind(values)) == encode_json(values)


def test_a_list_parameter_of_other_values_is_encoded() -> None:
    assert Dialect().many([1, "a", None]) == '[1,"a",null]'
    assert Dialect().many(x for x in ("a", 'b"')) == '["a","b\\""]'


def test_a_batch_and_its_key_columns_make_no_reference_cycle() -> None:
    """Freed by reference counting as soon as the import lets go of them: a cycle
    would keep every batch of an import until the (rarely run) collector found it."""
    import gc

    failure = RowFailure(row=3, code="phone.invalid", column="phone", message="x")
    gc.collect()
    gc.disable()
    try:
        batch = as_batch([ImportedRecord(row=2, phone="+84912340001"), failure], set())
        keys = batch.record_columns()
        assert keys.phones == ["+84912340001"] and keys.indexes == [0]
        del batch, keys
        assert gc.collect() == 0
    finally:
        gc.enable()
