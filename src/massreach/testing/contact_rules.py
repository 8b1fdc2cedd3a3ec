"""Conformance rules for lists and contacts (part of :class:`StorageConformance`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from massreach.core.distribution import ProcessingStatus
from massreach.errors import ConflictError, NotFound
from massreach.model import ContactQuery, ContactUpdate
from massreach.model.contacts import ListFeed
from massreach.storage import Storage
from massreach.testing.storage_base import (
    StorageTestBase,
    add_contacts,
    by_phone,
    make_list,
    phones_of,
)

__all__ = ["ContactRules"]

A, B, C, D = "+84901000001", "+84901000002", "+84901000003", "+84901000004"


class ContactRules(StorageTestBase):
    """Lists have unique names; a phone is once per list and never changes."""

    # -- lists -----------------------------------------------------------------
    def test_create_and_get_list(self, storage: Storage, clock_start: datetime) -> None:
        """A created list is found by name and by id; lists() is ordered by id."""
        first = storage.create_list("vip", feed=ListFeed.crm, created_by="ann", now=clock_start)
        second = make_list(storage, "calls", clock_start)
        assert first.id != second.id
        assert (first.name, first.feed, first.created_by) == ("vip", ListFeed.crm, "ann")
        assert first.created_at == clock_start
        assert storage.get_list("vip") == first
        assert storage.get_list_by_id(second.id) == second
        assert storage.lists() == sorted([first, second], key=lambda lst: lst.id)
        assert storage.get_list("nope") is None
        assert storage.get_list_by_id(first.id + second.id + 100) is None

    def test_list_names_are_unique(self, storage: Storage, clock_start: datetime) -> None:
        """A second list with a taken name is a ConflictError; nothing is added."""
        make_list(storage, "vip", clock_start)
        with pytest.raises(ConflictError):
            make_list(storage, "vip", clock_start)
        assert [lst.name for lst in storage.lists()] == ["vip"]

    def test_times_come_back_in_utc(self, storage: Storage, clock_start: datetime) -> None:
        """A time given in another zone is returned as the same instant in UTC."""
        local = clock_start.astimezone(timezone(timedelta(hours=7)))
        created = make_list(storage, "vip", local)
        stored = storage.get_list("vip")
        assert stored is not None and created.created_at == clock_start
        assert stored.created_at == clock_start
        assert stored.created_at.utcoffset() == timedelta(0)

    # -- adding and finding ------------------------------------------------------
    def test_add_contacts_keeps_order(self, storage: Storage, clock_start: datetime) -> None:
        """ids come back in order; positions grow in import order; values round-trip."""
        lst = make_list(storage, "vip", clock_start)
        ids = add_contacts(
            storage,
            lst.id,
            clock_start,
            {"phone": A, "name": "An", "tags": ("vip", "hn"), "fields": {"balance": "10"}},
            {"email": "Binh@Example.com", "crm_id": "crm-2", "gender": "M", "priority": 5},
            {"phone": B, "description": "call after 5pm"},
        )
        assert len(set(ids)) == 3
        contacts = [storage.get_contact(i) for i in ids]
        assert all(c is not None for c in contacts)
        first, second, third = (c for c in contacts if c is not None)
        assert first.position < second.position < third.position
        assert (first.phone, first.name, first.tags, first.fields) == (
            A,
            "An",
            ("vip", "hn"),
            {"balance": "10"},
        )
        assert (second.email, second.crm_id, second.gender, second.priority) == (
            "Binh@Example.com",
            "crm-2",
            "M",
            5,
        )
        assert first.status is ProcessingStatus.unprocessed and first.owner is None
        more = add_contacts(storage, lst.id, clock_start, {"phone": C})
        later = storage.get_contact(more[0])
        assert later is not None and later.position > third.position

    def test_phone_once_per_list(self, storage: Storage, clock_start: datetime) -> None:
        """A phone already in the list is a ConflictError and nothing of the call is stored;
        the same phone in another list is fine."""
        vip = make_list(storage, "vip", clock_start)
        other = make_list(storage, "other", clock_start)
        add_contacts(storage, vip.id, clock_start, {"phone": A})
        with pytest.raises(ConflictError):
            add_contacts(storage, vip.id, clock_start, {"phone": B}, {"phone": A})
        assert phones_of(storage.find_contacts(ContactQuery(list_id=vip.id))) == [A]
        add_contacts(storage, other.id, clock_start, {"phone": A})
        assert storage.count_contacts(ContactQuery(phone=A)) == 2

    def test_phone_twice_in_one_call(self, storage: Storage, clock_start: datetime) -> None:
        """Two drafts with one phone for one list are a ConflictError, nothing stored."""
        vip = make_list(storage, "vip", clock_start)
        with pytest.raises(ConflictError):
            add_contacts(storage, vip.id, clock_start, {"phone": A}, {"phone": A})
        assert storage.count_contacts(ContactQuery(list_id=vip.id)) == 0

    def test_add_to_unknown_list(self, storage: Storage, clock_start: datetime) -> None:
        """Contacts for a list that does not exist: NotFound."""
        with pytest.raises(NotFound):
            add_contacts(storage, 4242, clock_start, {"phone": A})

    def test_find_by_keys_in_any_list(self, storage: Storage, clock_start: datetime) -> None:
        """find_contacts_by_keys looks in every list; emails compare case-insensitively;
        a contact matching several keys (or a key given twice) comes back once, and
        the contacts come in the order of their ids."""
        vip = make_list(storage, "vip", clock_start)
        other = make_list(storage, "other", clock_start)
        ids = add_contacts(
            storage, vip.id, clock_start, {"phone": A, "email": "an@example.com"}, {"phone": B}
        )
        ids += add_contacts(
            storage, other.id, clock_start, {"email": "Chi@Example.COM"}, {"crm_id": "c-9"}
        )
        found = storage.find_contacts_by_keys(
            phones=[A, D, A], emails=["AN@example.com", "chi@example.com"], crm_ids=["c-9", "c-9"]
        )
        assert [c.id for c in found] == sorted([ids[0], ids[2], ids[3]])
        assert storage.find_contacts_by_keys(phones=[], emails=[], crm_ids=[]) == []

    def test_email_kept_as_written(self, storage: Storage, clock_start: datetime) -> None:
        """An email keeps its case; queries by email ignore case."""
        vip = make_list(storage, "vip", clock_start)
        (cid,) = add_contacts(storage, vip.id, clock_start, {"email": "Mai.Le@Example.com"})
        found = storage.find_contacts(ContactQuery(email="mai.le@EXAMPLE.com"))
        assert [c.id for c in found] == [cid]
        assert found[0].email == "Mai.Le@Example.com"

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({}, ["an", "binh", "chi", "dung"]),
            ({"phone": B}, ["binh"]),
            ({"email": "CHI@example.com"}, ["chi"]),
            ({"name_contains": "IN"}, ["binh"]),
            ({"tags": ("hn",)}, ["an", "chi"]),
            ({"tags": ("hn", "sg")}, ["an", "binh", "chi"]),
            ({"status": ProcessingStatus.succeeded}, ["dung"]),
            ({"owner": "6001"}, ["binh", "dung"]),
            ({"unassigned": True}, ["an", "chi"]),
            ({"crm_id": "crm-3"}, ["chi"]),
            ({"tags": ("hn",), "unassigned": True, "name_contains": "c"}, ["chi"]),
        ],
    )
    def test_find_contacts_by_each_part(
        self, storage: Storage, clock_start: datetime, query: dict[str, Any], expected: list[str]
    ) -> None:
        """Every part of a ContactQuery filters; all given parts must hold; by id."""
        vip = make_list(storage, "vip", clock_start)
        other = make_list(storage, "other", clock_start)
        add_contacts(
            storage,
            vip.id,
            clock_start,
            {"phone": A, "name": "an", "tags": ("hn",)},
            {"phone": B, "name": "binh", "tags": ("sg",), "owner": "6001"},
            {
                "phone": C,
                "name": "chi",
                "tags": ("hn", "x"),
                "email": "chi@example.com",
                "crm_id": "crm-3",
            },
            {"phone": D, "name": "dung", "owner": "6001", "status": ProcessingStatus.succeeded},
        )
        add_contacts(storage, other.id, clock_start, {"phone": A, "name": "an-other"})
        full = ContactQuery(list_id=vip.id, **query)
        names = [c.name for c in storage.find_contacts(full)]
        assert names == expected
        assert storage.count_contacts(full) == len(expected)

    def test_paging_by_after_id(self, storage: Storage, clock_start: datetime) -> None:
        """Pages with ``limit`` and ``after_id`` walk every contact once, by id."""
        vip = make_list(storage, "vip", clock_start)
        ids = add_contacts(
            storage, vip.id, clock_start, *({"phone": f"+8490200{n:04d}"} for n in range(7))
        )
        seen: list[int] = []
        after = 0
        for _ in range(len(ids) + 1):  # bounded: a broken backend fails, not hangs
            page = storage.find_contacts(ContactQuery(list_id=vip.id), limit=3, after_id=after)
            if not page:
                break
            assert len(page) <= 3
            seen += [c.id for c in page]
            after = page[-1].id
        assert seen == sorted(ids)
        assert storage.find_contacts(ContactQuery(list_id=vip.id), limit=0) == []

    # -- changing ------------------------------------------------------------------
    def test_phone_is_immutable(self, storage: Storage, clock_start: datetime) -> None:
        """ContactUpdate has no phone; updates never change a stored phone."""
        assert "phone" not in attrs.fields_dict(ContactUpdate)
        vip = make_list(storage, "vip", clock_start)
        (cid,) = add_contacts(storage, vip.id, clock_start, {"phone": A, "name": "An"})
        storage.update_contacts([ContactUpdate(cid, name="An Nguyen")], now=clock_start)
        contact = storage.get_contact(cid)
        assert contact is not None and (contact.phone, contact.name) == (A, "An Nguyen")

    def test_update_merges_fields_and_adds_tags(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """fields merge into the stored ones; tags are added in order without repeats;
        None leaves a value as it is."""
        vip = make_list(storage, "vip", clock_start)
        (cid,) = add_contacts(
            storage,
            vip.id,
            clock_start,
            {
                "phone": A,
                "name": "An",
                "email": "a@x.vn",
                "tags": ("a", "b"),
                "fields": {"k1": "1", "k2": "2"},
            },
        )
        storage.update_contacts(
            [
                ContactUpdate(
                    cid,
                    add_tags=("b", "c", "c"),
                    fields={"k2": "20", "k3": "3"},
                    crm_id="crm-1",
                    plan_id=7,
                )
            ],
            now=clock_start,
        )
        contact = storage.get_contact(cid)
        assert contact is not None
        assert contact.tags == ("a", "b", "c")
        assert contact.fields == {"k1": "1", "k2": "20", "k3": "3"}
        assert (contact.name, contact.email, contact.crm_id, contact.plan_id) == (
            "An",
            "a@x.vn",
            "crm-1",
            7,
        )

    def test_update_owner_status_and_callback(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """clear_owner is applied before owner; a status sets processed_at; callbacks."""
        vip = make_list(storage, "vip", clock_start)
        (cid,) = add_contacts(storage, vip.id, clock_start, {"phone": A, "owner": "6001"})
        storage.update_contacts([ContactUpdate(cid, clear_owner=True)], now=clock_start)
        contact = storage.get_contact(cid)
        assert contact is not None and contact.owner is None
        later = clock_start + timedelta(hours=1)
        storage.update_contacts(
            [
                ContactUpdate(
                    cid,
                    clear_owner=True,
                    owner="6002",
                    status=ProcessingStatus.failed,
                    callback_at=later,
                    callback_agent="6002",
                )
            ],
            now=clock_start,
        )
        contact = storage.get_contact(cid)
        assert contact is not None
        assert (contact.owner, contact.status) == ("6002", ProcessingStatus.failed)
        assert contact.processed_at == clock_start and contact.assigned_at == clock_start
        assert (contact.callback_at, contact.callback_agent) == (later, "6002")

    def test_move_to_other_list(self, storage: Storage, clock_start: datetime) -> None:
        """A moved contact goes to the end of the other list; a move that would put a
        phone twice in a list is a ConflictError and changes nothing."""
        vip = make_list(storage, "vip", clock_start)
        other = make_list(storage, "other", clock_start)
        a_id, b_id = add_contacts(storage, vip.id, clock_start, {"phone": A}, {"phone": B})
        (tail,) = add_contacts(storage, other.id, clock_start, {"phone": C})
        storage.update_contacts([ContactUpdate(a_id, move_to_list=other.id)], now=clock_start)
        moved, last = storage.get_contact(a_id), storage.get_contact(tail)
        assert moved is not None and last is not None
        assert moved.list_id == other.id and moved.position > last.position
        add_contacts(storage, vip.id, clock_start, {"phone": A})
        with pytest.raises(ConflictError):
            storage.update_contacts(
                [ContactUpdate(b_id, name="changed"), ContactUpdate(a_id, move_to_list=vip.id)],
                now=clock_start,
            )
        unchanged = storage.get_contact(b_id)
        assert unchanged is not None and unchanged.name is None
        assert phones_of(storage.find_contacts(ContactQuery(list_id=other.id))) == [A, C]

    def test_update_of_unknown_contact_is_skipped(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """An update naming a contact that no longer exists changes nothing else."""
        vip = make_list(storage, "vip", clock_start)
        (cid,) = add_contacts(storage, vip.id, clock_start, {"phone": A})
        storage.update_contacts(
            [ContactUpdate(cid + 1000, name="ghost"), ContactUpdate(cid, name="real")],
            now=clock_start,
        )
        contact = storage.get_contact(cid)
        assert contact is not None and contact.name == "real"
        assert storage.get_contact(cid + 1000) is None

    def test_delete_contacts(self, storage: Storage, clock_start: datetime) -> None:
        """delete_contacts counts those that existed; a deleted phone may come back."""
        vip = make_list(storage, "vip", clock_start)
        a_id, b_id = add_contacts(storage, vip.id, clock_start, {"phone": A}, {"phone": B})
        assert storage.delete_contacts([a_id, a_id + b_id + 100]) == 1
        assert storage.get_contact(a_id) is None
        assert storage.delete_contacts([a_id]) == 0
        add_contacts(storage, vip.id, clock_start, {"phone": A})
        assert sorted(by_phone(storage, vip.id)) == [A, B]

    def test_returned_contacts_are_copies(self, storage: Storage, clock_start: datetime) -> None:
        """Changing a returned contact's fields does not change the stored contact."""
        vip = make_list(storage, "vip", clock_start)
        (cid,) = add_contacts(storage, vip.id, clock_start, {"phone": A, "fields": {"k": "v"}})
        contact = storage.get_contact(cid)
        assert contact is not None
        contact.fields["k"] = "changed"
        again = storage.get_contact(cid)
        assert again is not None and again.fields == {"k": "v"}
