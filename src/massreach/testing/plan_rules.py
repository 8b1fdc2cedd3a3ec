"""Conformance rules for import plans and scheduled jobs (part of StorageConformance)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import attrs
import pytest

from massreach.core.normalize import ImportedRecord
from massreach.errors import ConflictError, NotFound
from massreach.model import (
    Contact,
    ContactDraft,
    ContactKeys,
    ContactQuery,
    ContactUpdate,
    ImportBatch,
    PlanCounts,
    PlanState,
    RowResult,
)
from massreach.model.jobs import JobState, ScheduledJob
from massreach.storage import Storage
from massreach.testing.storage_base import (
    StorageTestBase,
    add_contacts,
    by_phone,
    make_list,
    make_plan,
)

__all__ = ["PlanRules"]

_LEASE = timedelta(minutes=5)
_SECOND = timedelta(seconds=1)
A, B, C = "+84904000001", "+84904000002", "+84904000003"


def _failed(plan_id: int, row: int) -> RowResult:
    return RowResult(plan_id, row, "failed", "row.bad_phone", f"row {row}: bad phone", "Phone")


class PlanRules(StorageTestBase):
    """Plans are claimed with leases; batches apply whole, once, and resume by cursor."""

    def test_create_and_get_plan(self, storage: Storage, clock_start: datetime) -> None:
        """create_plan gives an id (the one passed is ignored); the plan round-trips."""
        vip = make_list(storage, "vip", clock_start)
        given = make_plan(vip.id, clock_start, id=999)
        first = storage.create_plan(given)
        second = storage.create_plan(given)
        assert first.id != second.id
        assert first == attrs.evolve(given, id=first.id)
        assert storage.get_plan(first.id) == first
        assert [p.id for p in storage.plans()] == [second.id, first.id]
        assert storage.get_plan(first.id + second.id + 100) is None

    def test_save_plan_keeps_the_cursor(self, storage: Storage, clock_start: datetime) -> None:
        """save_plan overwrites state, counts, detection results, error and lease, but
        never the cursor; NotFound for an unknown plan."""
        vip = make_list(storage, "vip", clock_start)
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        storage.apply_import_batch(
            ImportBatch(plan.id, vip.id, (), (), (), PlanCounts(total=3, failed=3), cursor=3),
            now=clock_start,
        )
        changed = attrs.evolve(
            plan,
            state=PlanState.failed,
            counts=PlanCounts(total=9, succeeded=9),
            file_format="csv",
            encoding="windows-1258",
            delimiter=";",
            mapping=(("SĐT", "phone"),),
            error_code="file.unreadable",
            error_message="not a table",
            lease_owner="w1",
            lease_until=clock_start + _LEASE,
            started_at=clock_start,
            finished_at=clock_start + _SECOND,
        )
        storage.save_plan(changed)
        assert storage.get_plan(plan.id) == attrs.evolve(changed, cursor=3)
        with pytest.raises(NotFound):
            storage.save_plan(attrs.evolve(plan, id=plan.id + 1000))

    def test_claim_with_lease(self, storage: Storage, clock_start: datetime) -> None:
        """A claimed plan runs for its worker until the lease runs out; meanwhile another
        worker cannot claim it, the holder may renew; then anyone may take it over."""
        vip = make_list(storage, "vip", clock_start)
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        claimed = storage.claim_plan(plan.id, worker="w1", now=clock_start, lease=_LEASE)
        assert claimed is not None
        assert (claimed.state, claimed.lease_owner, claimed.lease_until) == (
            PlanState.running,
            "w1",
            clock_start + _LEASE,
        )
        assert claimed.started_at == clock_start
        assert storage.get_plan(plan.id) == claimed
        almost = clock_start + _LEASE - _SECOND
        assert storage.claim_plan(plan.id, worker="w2", now=almost, lease=_LEASE) is None
        renewed = storage.claim_plan(plan.id, worker="w1", now=almost, lease=_LEASE)
        assert renewed is not None and renewed.lease_until == almost + _LEASE
        expired = almost + _LEASE
        taken = storage.claim_plan(plan.id, worker="w2", now=expired, lease=_LEASE)
        assert taken is not None and taken.lease_owner == "w2"
        assert taken.started_at == clock_start
        assert storage.claim_plan(plan.id + 1000, worker="w1", now=expired, lease=_LEASE) is None

    def test_finished_plans_are_not_claimed(self, storage: Storage, clock_start: datetime) -> None:
        """Done and failed plans cannot be claimed."""
        vip = make_list(storage, "vip", clock_start)
        for state in (PlanState.done, PlanState.failed):
            plan = storage.create_plan(make_plan(vip.id, clock_start, state=state))
            assert storage.claim_plan(plan.id, worker="w1", now=clock_start, lease=_LEASE) is None

    def test_due_plans(self, storage: Storage, clock_start: datetime) -> None:
        """Pending plans whose time came, and running plans whose lease ran out."""
        vip = make_list(storage, "vip", clock_start)
        past = storage.create_plan(make_plan(vip.id, clock_start, run_at=clock_start - _SECOND))
        now_plan = storage.create_plan(make_plan(vip.id, clock_start, run_at=clock_start))
        storage.create_plan(make_plan(vip.id, clock_start, run_at=clock_start + _SECOND))
        storage.create_plan(make_plan(vip.id, clock_start, state=PlanState.done))
        held = storage.create_plan(make_plan(vip.id, clock_start))
        storage.claim_plan(held.id, worker="w1", now=clock_start, lease=_LEASE)
        stale = storage.create_plan(make_plan(vip.id, clock_start))
        storage.claim_plan(stale.id, worker="w1", now=clock_start - _LEASE, lease=_LEASE)
        due = {p.id for p in storage.due_plans(clock_start)}
        assert due == {past.id, now_plan.id, stale.id}

    def test_apply_import_batch(self, storage: Storage, clock_start: datetime) -> None:
        """A batch inserts, updates, stores row results, adds counts, sets the cursor."""
        vip = make_list(storage, "vip", clock_start)
        (existing,) = add_contacts(storage, vip.id, clock_start, {"phone": A, "name": "old"})
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        batch = ImportBatch(
            plan.id,
            vip.id,
            inserts=(ContactDraft(vip.id, phone=B, plan_id=plan.id, tags=("vip",)),),
            updates=(ContactUpdate(existing, name="new", plan_id=plan.id),),
            results=(_failed(plan.id, 4),),
            counts=PlanCounts(total=3, succeeded=2, failed=1, updated=1),
            cursor=4,
        )
        storage.apply_import_batch(batch, now=clock_start)
        contacts = by_phone(storage, vip.id)
        assert sorted(contacts) == [A, B]
        assert (contacts[A].name, contacts[A].plan_id) == ("new", plan.id)
        assert (contacts[B].plan_id, contacts[B].tags) == (plan.id, ("vip",))
        stored = storage.get_plan(plan.id)
        assert stored is not None
        assert (stored.cursor, stored.counts) == (4, batch.counts)
        assert storage.row_results(plan.id) == [_failed(plan.id, 4)]
        second = ImportBatch(
            plan.id, vip.id, (), (), (), PlanCounts(total=1, duplicates=1), cursor=6
        )
        storage.apply_import_batch(second, now=clock_start)
        stored = storage.get_plan(plan.id)
        assert stored is not None
        assert (stored.cursor, stored.counts) == (6, batch.counts + second.counts)

    def test_apply_import_batch_with_imported_records(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """Inserts given as imported records (the import fast path) store the same
        contacts as their drafts: the agent owns them, a callback stays pinned to it."""
        vip = make_list(storage, "vip", clock_start)
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        callback = clock_start + timedelta(days=2)
        records = (
            ImportedRecord(
                row=2, phone=A, email="An@X.vn", name="An", tags=("t",), fields={"param0": "5"}
            ),
            ImportedRecord(
                row=3, phone=B, status="follow_up", callback_at=callback, agent="6001", tags=("t",)
            ),
        )
        batch = ImportBatch(
            plan.id, vip.id, records, (), (), PlanCounts(total=2, succeeded=2), cursor=3
        )
        storage.apply_import_batch(batch, now=clock_start)
        contacts = by_phone(storage, vip.id)
        first, second = contacts[A], contacts[B]
        assert (first.email, first.name, first.tags, first.fields) == (
            "An@X.vn",
            "An",
            ("t",),
            {"param0": "5"},
        )
        assert (first.plan_id, first.owner, first.status.value) == (plan.id, None, "unprocessed")
        assert (second.owner, second.callback_agent, second.status.value) == (
            "6001",
            "6001",
            "follow_up",
        )
        assert second.callback_at == callback
        assert first.position < second.position
        found = storage.find_contacts_by_keys(phones=[], emails=["an@x.VN"], crm_ids=[])
        assert [c.phone for c in found] == [A]

    def test_apply_import_batch_is_idempotent(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """A batch whose cursor is not beyond the stored one was applied: it is ignored."""
        vip = make_list(storage, "vip", clock_start)
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        batch = ImportBatch(
            plan.id,
            vip.id,
            inserts=(ContactDraft(vip.id, phone=A),),
            updates=(),
            results=(),
            counts=PlanCounts(total=1, succeeded=1),
            cursor=2,
        )
        storage.apply_import_batch(batch, now=clock_start)
        storage.apply_import_batch(batch, now=clock_start)
        storage.apply_import_batch(attrs.evolve(batch, cursor=1), now=clock_start)
        assert storage.count_contacts(ContactQuery(list_id=vip.id)) == 1
        stored = storage.get_plan(plan.id)
        assert stored is not None and (stored.cursor, stored.counts.total) == (2, 1)

    def test_apply_import_batch_is_atomic(self, storage: Storage, clock_start: datetime) -> None:
        """A batch that cannot apply whole (a phone twice in the list) applies nothing."""
        vip = make_list(storage, "vip", clock_start)
        (existing,) = add_contacts(storage, vip.id, clock_start, {"phone": A})
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        bad = ImportBatch(
            plan.id,
            vip.id,
            inserts=(ContactDraft(vip.id, phone=B), ContactDraft(vip.id, phone=A)),
            updates=(ContactUpdate(existing, name="changed"),),
            results=(_failed(plan.id, 3),),
            counts=PlanCounts(total=3, succeeded=2, failed=1),
            cursor=3,
        )
        with pytest.raises(ConflictError):
            storage.apply_import_batch(bad, now=clock_start)
        assert sorted(by_phone(storage, vip.id)) == [A]
        contact = storage.get_contact(existing)
        assert contact is not None and contact.name is None
        assert storage.row_results(plan.id) == []
        stored = storage.get_plan(plan.id)
        assert stored is not None and (stored.cursor, stored.counts) == (0, PlanCounts())

    def test_large_batches_run_meanwhile_beside_the_write(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """``meanwhile`` runs once, on the calling thread, and its value is returned;
        a large batch of imported records is stored exactly (tags and fields as
        given, positions in file order), also when the batch is ignored."""
        vip = make_list(storage, "vip", clock_start)
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        odd = 'quote " back \\ tab \t nl \n bell \x07 ü 中 🙂'
        records = tuple(
            ImportedRecord(
                row=n + 2,
                phone=f"+849040{n:05d}",
                email=f"U{n}@X.vn" if n % 3 else None,
                name=odd if n == 7 else f"n{n}",
                tags=("t", odd) if n % 2 else ("t",),
                fields={"param0": str(n), "Số dư": odd} if n % 5 else {},
            )
            for n in range(300)
        )
        calls: list[int] = []
        batch = ImportBatch(
            plan.id, vip.id, records, (), (), PlanCounts(total=300, succeeded=300), cursor=301
        )

        def meanwhile() -> str:
            calls.append(1)
            return "next"

        got = storage.apply_import_batch(batch, now=clock_start, meanwhile=meanwhile)
        assert (got, calls) == ("next", [1])
        stored = storage.find_contacts(ContactQuery(list_id=vip.id))
        assert [c.phone for c in stored] == [r.phone for r in records]
        assert [c.position for c in stored] == sorted(c.position for c in stored)
        for contact, record in zip(stored, records, strict=True):
            assert (contact.email, contact.name, contact.tags, contact.fields) == (
                record.email,
                record.name,
                record.tags,
                dict(record.fields),
            )
            assert contact.plan_id == plan.id
        found = storage.find_contacts_by_keys(phones=[], emails=["u4@x.VN"], crm_ids=[])
        assert [c.phone for c in found] == [records[4].phone]
        again = storage.apply_import_batch(batch, now=clock_start, meanwhile=lambda: "again")
        assert again == "again"
        assert storage.count_contacts(ContactQuery(list_id=vip.id)) == 300

    def test_what_meanwhile_raises_comes_after_the_batch_is_stored(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """An error of ``meanwhile`` (the next batch cannot be read) is raised once
        this batch is stored: the batch is not lost."""
        vip = make_list(storage, "vip", clock_start)
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        records = tuple(
            ImportedRecord(row=n + 2, phone=f"+849041{n:05d}", tags=("t",)) for n in range(300)
        )
        batch = ImportBatch(
            plan.id, vip.id, records, (), (), PlanCounts(total=300, succeeded=300), cursor=301
        )

        def unreadable() -> None:
            raise ValueError("the next batch cannot be read")

        with pytest.raises(ValueError, match="next batch"):
            storage.apply_import_batch(batch, now=clock_start, meanwhile=unreadable)
        assert storage.count_contacts(ContactQuery(list_id=vip.id)) == 300
        stored = storage.get_plan(plan.id)
        assert stored is not None and stored.cursor == 301

    def test_a_large_batch_is_atomic(self, storage: Storage, clock_start: datetime) -> None:
        """A large batch with one phone already in the list applies nothing."""
        vip = make_list(storage, "vip", clock_start)
        add_contacts(storage, vip.id, clock_start, {"phone": "+84904200299"})
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        records = tuple(
            ImportedRecord(row=n + 2, phone=f"+849042{n:05d}", tags=("t",)) for n in range(300)
        )
        batch = ImportBatch(
            plan.id, vip.id, records, (), (), PlanCounts(total=300, succeeded=300), cursor=301
        )
        with pytest.raises(ConflictError):
            storage.apply_import_batch(batch, now=clock_start, meanwhile=lambda: None)
        assert storage.count_contacts(ContactQuery(list_id=vip.id)) == 1
        stored = storage.get_plan(plan.id)
        assert stored is not None and (stored.cursor, stored.counts) == (0, PlanCounts())
        records = records[:-1]  # without the conflicting phone it goes in whole
        storage.apply_import_batch(
            attrs.evolve(batch, inserts=records, counts=PlanCounts(total=299, succeeded=299)),
            now=clock_start,
            meanwhile=lambda: None,
        )
        assert storage.count_contacts(ContactQuery(list_id=vip.id)) == 300

    def test_lookahead_gives_the_same_answers(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """With ``lookahead``, the next find_contacts_by_keys with those keys sees the
        batch just written, as without it; a write in between is seen too, and other
        keys are looked up as usual."""
        vip = make_list(storage, "vip", clock_start)
        other = make_list(storage, "other", clock_start)
        add_contacts(storage, other.id, clock_start, {"phone": "+84904300001"})
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        odd = 'quote " back \\ nl \n ü 中 🙂'
        records = tuple(
            ImportedRecord(
                row=n + 2,
                phone=f"+849043{n:05d}",
                email=f"U{n}@X.vn",
                name=odd,
                tags=("t", odd),
                fields={"param0": str(n), "Số dư": odd},
                status="follow_up" if n % 2 else None,
                agent="a1" if n % 2 else None,
            )
            for n in range(300)
        )
        keys = ContactKeys(
            phones=["+84904300001", "+84904300299", "+84904399999"],
            emails=["nobody@example.vn"],
        )

        def batch(part: tuple[ImportedRecord, ...], cursor: int) -> ImportBatch:
            counts = PlanCounts(total=len(part), succeeded=len(part))
            return ImportBatch(plan.id, vip.id, part, (), (), counts, cursor=cursor)

        got = storage.apply_import_batch(
            batch(records, 301), now=clock_start, meanwhile=lambda: "next", lookahead=keys
        )
        assert got == "next"
        found = storage.find_contacts_by_keys(
            phones=keys.phones, emails=keys.emails, crm_ids=keys.crm_ids
        )
        fresh = storage.find_contacts_by_keys(
            phones=keys.phones, emails=keys.emails, crm_ids=keys.crm_ids
        )
        assert found == fresh  # every attribute, in the same order (by id)
        assert sorted((c.phone, c.list_id) for c in found) == sorted(
            [("+84904300001", other.id), ("+84904300001", vip.id), ("+84904300299", vip.id)]
        )
        # Looked up beside a batch, then a write: the answer includes the write.
        extra = (ImportedRecord(row=400, phone="+84904399999", tags=("t",)),)
        storage.apply_import_batch(
            batch(records[:0], 302), now=clock_start, meanwhile=lambda: None, lookahead=keys
        )
        storage.apply_import_batch(batch(extra, 401), now=clock_start)
        found = storage.find_contacts_by_keys(
            phones=keys.phones, emails=keys.emails, crm_ids=keys.crm_ids
        )
        assert "+84904399999" in {c.phone for c in found}
        # Other keys than the hint: looked up as usual.
        single = storage.find_contacts_by_keys(phones=["+84904300005"], emails=[], crm_ids=[])
        assert [c.phone for c in single] == ["+84904300005"]

    @pytest.mark.parametrize("size", [5, 300])
    def test_decide_next_sees_what_a_lookup_after_the_batch_sees(
        self, storage: Storage, clock_start: datetime, size: int, decides_ahead: bool | None
    ) -> None:
        """``decide_next``, if the backend calls it, gets exactly what
        find_contacts_by_keys(lookahead) answers once the batch is stored (its
        new contacts included), and the batch it returns applies as any other;
        what it raises comes after the batch is stored."""
        vip = make_list(storage, "vip", clock_start)
        other = make_list(storage, "other", clock_start)
        add_contacts(
            storage,
            other.id,
            clock_start,
            {"phone": "+84904500001", "email": "Old@X.vn"},
            {"phone": "+84904599998", "crm_id": "crm-7"},
        )
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        odd = 'quote " back \\ nl \n ü 中 🙂'

        def record(n: int) -> ImportedRecord:
            return ImportedRecord(
                row=n + 2,
                phone=f"+849045{n:05d}" if n % 7 else None,
                email=f"U{n}@X.vn",
                name=odd if n % 2 else None,
                crm_id=f"crm-{n}" if n % 5 == 0 else None,
                tags=("t", odd),
                fields={"param0": str(n), "Số dư": odd} if n % 3 else {},
                status="follow_up" if n % 2 else None,
                agent="a1" if n % 4 == 1 else None,
            )

        first = tuple(record(n) for n in range(1, size + 1))
        second = tuple(record(n) for n in range(size + 1, 2 * size + 1))
        keys = ContactKeys(
            phones=["+84904500001", f"+849045{size:05d}", "+84904599999"],
            emails=["u7@x.VN", "old@x.vn"],
            crm_ids=["crm-5", "crm-7"],
        )

        def batch(part: tuple[ImportedRecord, ...], cursor: int) -> ImportBatch:
            counts = PlanCounts(total=len(part), succeeded=len(part))
            return ImportBatch(plan.id, vip.id, part, (), (), counts, cursor=cursor)

        seen: list[list[Contact]] = []

        def decide_next(existing: list[Contact]) -> ImportBatch:
            seen.append(existing)
            return batch(second, 2 * size + 1)

        got = storage.apply_import_batch(
            batch(first, size + 1),
            now=clock_start,
            meanwhile=lambda: "next",
            lookahead=keys,
            decide_next=decide_next,
        )
        assert got == "next"
        fresh = storage.find_contacts_by_keys(
            phones=keys.phones, emails=keys.emails, crm_ids=keys.crm_ids
        )
        assert len(seen) <= 1
        if decides_ahead is not None:
            assert bool(seen) is decides_ahead
        if seen:
            assert seen[0] == fresh  # every attribute, in the same order (by id)
        assert {c.list_id for c in fresh} == {vip.id, other.id}
        later = clock_start + timedelta(minutes=1)
        storage.apply_import_batch(batch(second, 2 * size + 1), now=later)
        stored = storage.find_contacts(ContactQuery(list_id=vip.id))
        kept = [(c.phone, c.email, c.name, c.tags, c.fields, c.status, c.owner) for c in stored]
        assert kept == [
            (
                r.phone,
                r.email,
                r.name,
                r.tags,
                dict(r.fields),
                r.status or "unprocessed",
                r.agent,
            )
            for r in first + second
        ]
        assert [c.position for c in stored] == list(range(1, 2 * size + 1))

        calls: list[list[Contact]] = []

        def broken(existing: list[Contact]) -> ImportBatch:
            calls.append(existing)
            raise RuntimeError("deciding failed")

        third = (ImportedRecord(row=2 * size + 2, phone="+84904588888", tags=("t",)),)
        try:
            storage.apply_import_batch(
                batch(third, 2 * size + 2),
                now=later,
                meanwhile=lambda: None,
                lookahead=ContactKeys(phones=["+84904588888"]),
                decide_next=broken,
            )
        except RuntimeError as exc:
            assert calls and str(exc) == "deciding failed"
        else:
            assert not calls
        stored_plan = storage.get_plan(plan.id)
        assert stored_plan is not None and stored_plan.cursor == 2 * size + 2

    def test_row_results_paging(self, storage: Storage, clock_start: datetime) -> None:
        """Row results by row, filtered by outcome, paged with ``after_row``."""
        vip = make_list(storage, "vip", clock_start)
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        dup = RowResult(plan.id, 2, "duplicate", "row.duplicate", "already there", None, None)
        results = (_failed(plan.id, 7), dup, _failed(plan.id, 3), _failed(plan.id, 5))
        storage.apply_import_batch(
            ImportBatch(
                plan.id, vip.id, (), (), results, PlanCounts(total=4, failed=3, duplicates=1), 8
            ),
            now=clock_start,
        )
        assert [r.row for r in storage.row_results(plan.id)] == [2, 3, 5, 7]
        assert storage.row_results(plan.id, outcome="duplicate") == [dup]
        assert [r.row for r in storage.row_results(plan.id, outcome="failed", after_row=3)] == [
            5,
            7,
        ]
        assert [r.row for r in storage.row_results(plan.id, limit=2)] == [2, 3]
        assert [r.row for r in storage.row_results(plan.id, after_row=3, limit=1)] == [5]

    def test_plan_file_round_trips_bytes(
        self, storage: Storage, clock_start: datetime, tmp_path: Path
    ) -> None:
        """The stored original file gives back the same bytes, even after the source goes."""
        vip = make_list(storage, "vip", clock_start)
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        content = "Số điện thoại;Tên\r\n0901234567;Ánh\r\n".encode("utf-16") + bytes(range(256))
        source = tmp_path / "khách hàng.csv"
        source.write_bytes(content)
        storage.store_plan_file(plan.id, source)
        source.unlink()
        with storage.plan_file(plan.id) as path:
            assert Path(path).read_bytes() == content
        with pytest.raises(NotFound), storage.plan_file(plan.id + 1000):
            pass

    def test_delete_plan(self, storage: Storage, clock_start: datetime, tmp_path: Path) -> None:
        """delete_plan removes the plan, its results and file, not its contacts."""
        vip = make_list(storage, "vip", clock_start)
        plan = storage.create_plan(make_plan(vip.id, clock_start))
        source = tmp_path / "list.csv"
        source.write_bytes(b"phone\n+84904000001\n")
        storage.store_plan_file(plan.id, source)
        storage.apply_import_batch(
            ImportBatch(
                plan.id,
                vip.id,
                (ContactDraft(vip.id, phone=C),),
                (),
                (_failed(plan.id, 3),),
                PlanCounts(total=2, succeeded=1, failed=1),
                3,
            ),
            now=clock_start,
        )
        assert storage.delete_plan(plan.id) is True
        assert storage.get_plan(plan.id) is None
        assert storage.row_results(plan.id) == []
        with pytest.raises(NotFound), storage.plan_file(plan.id):
            pass
        assert sorted(by_phone(storage, vip.id)) == [C]
        assert storage.delete_plan(plan.id) is False

    def test_mapping_memory(self, storage: Storage) -> None:
        """The mapping last remembered for a header signature is recalled."""
        assert storage.recall_mapping("sig-1") is None
        storage.remember_mapping("sig-1", [("Phone", "phone"), ("Tên", "name")])
        storage.remember_mapping("sig-2", [("Email", "email")])
        storage.remember_mapping("sig-1", [("Phone", "phone"), ("Tên", "param0")])
        assert storage.recall_mapping("sig-1") == (("Phone", "phone"), ("Tên", "param0"))
        assert storage.recall_mapping("sig-2") == (("Email", "email"),)

    # -- scheduled jobs ------------------------------------------------------------
    def test_jobs_round_trip(self, storage: Storage, clock_start: datetime) -> None:
        """create_job gives an id; payloads are plain JSON kept as given; jobs(kind)
        lists one kind, newest first."""
        payload = {
            "list": "task",
            "agents": ["6001", "6002"],
            "counts": {"6001": 5},
            "partial": False,
            "note": "phân bổ",
            "none": None,
        }
        given = ScheduledJob(
            999,
            "distribution",
            payload,
            run_at=clock_start,
            created_by="ann",
            created_at=clock_start,
        )
        first = storage.create_job(given)
        other = storage.create_job(attrs.evolve(given, kind="report"))
        second = storage.create_job(given)
        assert len({first.id, other.id, second.id}) == 3
        assert first == attrs.evolve(given, id=first.id)
        assert storage.get_job(first.id) == first
        assert [j.id for j in storage.jobs("distribution")] == [second.id, first.id]
        assert storage.jobs("nothing") == []
        assert storage.get_job(first.id + other.id + second.id + 100) is None

    def test_claim_due_jobs_with_lease(self, storage: Storage, clock_start: datetime) -> None:
        """Due pending jobs of the kind are claimed (by run_at) for one worker until the
        lease runs out; then another worker takes them over."""

        def job(run_at: datetime, kind: str = "distribution") -> ScheduledJob:
            return storage.create_job(ScheduledJob(0, kind, {}, run_at=run_at))

        late = job(clock_start)
        early = job(clock_start - _LEASE)
        job(clock_start + 2 * _LEASE)
        job(clock_start, kind="report")
        claimed = storage.claim_due_jobs("distribution", worker="w1", now=clock_start, lease=_LEASE)
        assert [j.id for j in claimed] == [early.id, late.id]
        for one in claimed:
            assert (one.state, one.lease_owner, one.lease_until) == (
                JobState.running,
                "w1",
                clock_start + _LEASE,
            )
            assert storage.get_job(one.id) == one
        almost = clock_start + _LEASE - _SECOND
        assert (
            storage.claim_due_jobs("distribution", worker="w2", now=almost, lease=timedelta(0))
            == []
        )
        again = storage.claim_due_jobs(
            "distribution", worker="w2", now=clock_start + _LEASE, lease=_LEASE
        )
        assert [j.id for j in again] == [early.id, late.id]
        assert {j.lease_owner for j in again} == {"w2"}

    def test_finish_job(self, storage: Storage, clock_start: datetime) -> None:
        """finish_job records done with a result or failed with an error, clears the
        lease; finished jobs are never claimed; NotFound for an unknown job."""
        done = storage.create_job(ScheduledJob(0, "distribution", {"a": 1}, run_at=clock_start))
        failed = storage.create_job(ScheduledJob(0, "distribution", {}, run_at=clock_start))
        storage.claim_due_jobs("distribution", worker="w1", now=clock_start, lease=_LEASE)
        later = clock_start + _SECOND
        storage.finish_job(
            done.id, state=JobState.done, now=later, result={"shares": [["6001", 3]]}
        )
        storage.finish_job(failed.id, state=JobState.failed, now=later, error="no agents")
        stored = storage.get_job(done.id)
        assert stored is not None
        assert (stored.state, stored.finished_at, stored.result, stored.error) == (
            JobState.done,
            later,
            {"shares": [["6001", 3]]},
            None,
        )
        assert (stored.lease_owner, stored.lease_until, stored.payload) == (None, None, {"a": 1})
        stored = storage.get_job(failed.id)
        assert stored is not None
        assert (stored.state, stored.error, stored.result) == (JobState.failed, "no agents", None)
        assert (
            storage.claim_due_jobs("distribution", worker="w2", now=later + _LEASE, lease=_LEASE)
            == []
        )
        with pytest.raises(NotFound):
            storage.finish_job(done.id + failed.id + 100, state=JobState.done, now=later)
