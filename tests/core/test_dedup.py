"""Duplicate planning: the shortcut for records that share no key is exact."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from massreach.core.dedup import plan_batch, plan_in_order
from massreach.core.distribution import ProcessingStatus
from massreach.core.normalize import ImportedRecord, RowFailure
from massreach.model import Contact, DuplicatePolicy

LIST_ID = 1
PLAN_ID = 7
PHONES = [None, "+84912345678", "+84912345679", "+84912345670", "+48601234567"]
EMAILS = [None, "a@example.vn", "A@Example.VN", "b@example.vn", "c@example.pl"]
CRM_IDS = [None, "DH1", "DH2", "DH3"]

policies = st.builds(
    DuplicatePolicy,
    on_duplicate=st.sampled_from(["skip", "update"]),
    clear_owner=st.booleans(),
    reset_status=st.booleans(),
    other_list=st.sampled_from(["skip", "move"]),
)


@st.composite
def items(draw: st.DrawFn) -> list[ImportedRecord | RowFailure]:
    out: list[ImportedRecord | RowFailure] = []
    rows = sorted(draw(st.sets(st.integers(2, 500), max_size=25)))
    for row in rows:
        if draw(st.integers(0, 9)) == 0:
            out.append(RowFailure(row=row, code="phone.invalid", column="phone", message="x"))
            continue
        unique = draw(st.booleans())  # most rows of a real file share nothing
        out.append(
            ImportedRecord(
                row=row,
                phone=f"+849{row:08d}" if unique else draw(st.sampled_from(PHONES)),
                email=draw(st.sampled_from(EMAILS)),
                name=draw(st.sampled_from([None, "An", "Bình"])),
                crm_id=draw(st.sampled_from(CRM_IDS)),
                tags=draw(st.sampled_from([("vip",), ("new", "vip")])),
                fields=draw(st.sampled_from([{}, {"param0": "1"}, {"param0": "2", "x": "y"}])),
                status=draw(st.sampled_from([None, "follow_up"])),
                agent=draw(st.sampled_from([None, "agent7"])),
            )
        )
    return out


@st.composite
def stored(draw: st.DrawFn) -> list[Contact]:
    count = draw(st.integers(0, 6))
    return [
        Contact(
            id=i + 1,
            list_id=draw(st.sampled_from([LIST_ID, LIST_ID, 2])),
            position=i,
            phone=draw(st.sampled_from(PHONES)),
            email=draw(st.sampled_from(EMAILS)),
            crm_id=draw(st.sampled_from(CRM_IDS)),
            owner=draw(st.sampled_from([None, "agent1"])),
            status=draw(st.sampled_from(list(ProcessingStatus))),
            plan_id=draw(st.sampled_from([None, PLAN_ID, 3])),
        )
        for i in range(count)
    ]


@settings(max_examples=500, deadline=None)
@given(items(), stored(), policies, st.sampled_from(["bulk_send", "calling", "crm_status"]))
def test_plan_batch_is_plan_in_order(
    batch: list[ImportedRecord | RowFailure],
    existing: list[Contact],
    policy: DuplicatePolicy,
    kind: str,
) -> None:
    args = {
        "plan_id": PLAN_ID, "list_id": LIST_ID, "kind": kind, "policy": policy,
        "items": batch, "existing": existing, "cursor": 600,
    }  # fmt: skip
    fast = plan_batch(**args)  # type: ignore[arg-type]
    reference = plan_in_order(**args)  # type: ignore[arg-type]
    assert fast == reference
    counts = fast.counts
    assert counts.total == counts.succeeded + counts.failed + counts.duplicates == len(batch)


def test_records_sharing_nothing_are_inserted_in_file_order() -> None:
    records = [ImportedRecord(row=r, phone=f"+8491234567{r}", tags=("t",)) for r in (2, 3, 4)]
    again = ImportedRecord(row=5, phone="+84912345673", tags=("t",))
    failure = RowFailure(row=6, code="phone.invalid", column="phone", message="bad")
    batch = plan_batch(
        plan_id=PLAN_ID, list_id=LIST_ID, kind="bulk_send", policy=DuplicatePolicy(),
        items=[*records, again, failure], existing=[], cursor=6,
    )  # fmt: skip
    assert batch.inserts == tuple(records)
    assert [(r.row, r.outcome, r.code) for r in batch.results] == [
        (5, "duplicate", "duplicate.in_file"),
        (6, "failed", "phone.invalid"),
    ]
    assert (batch.counts.succeeded, batch.counts.duplicates, batch.counts.failed) == (3, 1, 1)
