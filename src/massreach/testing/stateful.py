"""A hypothesis state machine that drives a storage backend against a plain-dict model.

Rules create lists, add contacts with phones drawn from a small pool (so
duplicates happen), update, move and delete contacts, reserve and release
counters, add and remove opt-outs, distribute, assign and mark records processed,
and move the clock. After every step the invariants compare the backend with the
model: contacts per list (in import order), counters, opt-outs and task figures.

Run it against your backend::

    from massreach.testing import make_storage_machine

    TestMyStorageMachine = make_storage_machine(lambda: MyStorage(...)).TestCase

The factory must return a fresh, EMPTY backend each time it is called (one per
hypothesis example); the machine closes it at the end of the example.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar, cast

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from massreach.core.distribution import EvenSplit, ProcessingStatus, Scope
from massreach.errors import ConflictError
from massreach.model import AgentFigures, ContactDraft, ContactQuery, ContactUpdate, TaskStats
from massreach.model.contacts import ListFeed
from massreach.storage import Storage
from massreach.testing.storage_base import CLOCK_START

__all__ = ["AGENTS", "PHONES", "StorageStateMachine", "make_storage_machine"]

#: The small pools the machine draws from, so that collisions are frequent.
PHONES = tuple(f"+8490800000{n}" for n in range(6))
EMAILS = ("lan@example.com", "LAN@example.com", "minh@example.vn")
AGENTS = ("6001", "6002", "6003")
LIST_NAMES = ("north", "south", "west")
TAGS = ("hn", "sg", "vip")
COUNTER_KEYS = ("day", "month", "vip")

_phones = st.none() | st.sampled_from(PHONES)
_rows = st.lists(
    st.tuples(_phones, st.none() | st.sampled_from(EMAILS), st.sets(st.sampled_from(TAGS))),
    max_size=4,
)
_index = st.integers(min_value=0, max_value=1000)


def fold(target: str) -> str:
    """Targets and emails compare case-insensitively."""
    return target.casefold()


@attrs.define
class ModelContact:
    """What the model knows about one contact."""

    list_name: str
    order: int
    phone: str | None
    email: str | None
    tags: tuple[str, ...] = ()
    name: str | None = None
    fields: dict[str, str] = attrs.Factory(dict)
    owner: str | None = None
    status: ProcessingStatus = ProcessingStatus.unprocessed
    callback_at: datetime | None = None
    callback_agent: str | None = None
    assigned_at: datetime | None = None
    processed_at: datetime | None = None

    def view(self, contact_id: int) -> tuple[Any, ...]:
        """The comparable projection (the same as :func:`contact_view`)."""
        return (
            contact_id,
            self.phone,
            self.email,
            self.name,
            self.tags,
            self.fields,
            self.owner,
            self.status,
            self.callback_at,
            self.callback_agent,
            self.assigned_at,
            self.processed_at,
        )


def contact_view(storage: Storage, list_id: int) -> list[tuple[Any, ...]]:
    """A list's contacts, in import order, as comparable tuples."""
    found = storage.find_contacts(ContactQuery(list_id=list_id))
    found.sort(key=lambda c: c.position)
    return [
        (
            c.id,
            c.phone,
            c.email,
            c.name,
            c.tags,
            c.fields,
            c.owner,
            c.status,
            c.callback_at,
            c.callback_agent,
            c.assigned_at,
            c.processed_at,
        )
        for c in found
    ]


class StorageStateMachine(RuleBasedStateMachine):
    """Drives ``make_storage()`` against a plain-dict model; see the module docstring.

    Subclass and override :meth:`make_storage`, set ``storage_factory``, or use
    :func:`make_storage_machine`.
    """

    storage_factory: ClassVar[Callable[[], Storage] | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.storage = self.make_storage()
        self.now = CLOCK_START
        self.lists: dict[str, int] = {}
        self.contacts: dict[int, ModelContact] = {}
        self.counters: dict[str, int] = {}
        self.opt_outs: set[str] = set()
        self.order = 0

    def make_storage(self) -> Storage:
        """A fresh, empty backend for one example."""
        factory = type(self).storage_factory
        if factory is None:
            raise NotImplementedError("set storage_factory or override make_storage()")
        return factory()

    def teardown(self) -> None:
        """Close the backend of this example."""
        self.storage.close()

    # -- helpers ---------------------------------------------------------------------
    def _next_order(self) -> int:
        self.order += 1
        return self.order

    def _pick_list(self, index: int) -> str:
        names = sorted(self.lists)
        return names[index % len(names)]

    def _pick_contact(self, index: int) -> int:
        ids = sorted(self.contacts)
        return ids[index % len(ids)]

    def _phone_taken(self, list_name: str, phone: str | None, but: int | None = None) -> bool:
        return phone is not None and any(
            c.list_name == list_name and c.phone == phone and cid != but
            for cid, c in self.contacts.items()
        )

    def _members(self, list_name: str) -> list[tuple[int, ModelContact]]:
        rows = [(cid, c) for cid, c in self.contacts.items() if c.list_name == list_name]
        return sorted(rows, key=lambda row: row[1].order)

    # -- rules -------------------------------------------------------------------------
    @rule(name=st.sampled_from(LIST_NAMES))
    def create_list(self, name: str) -> None:
        """A new list, or ConflictError for a taken name."""
        if name in self.lists:
            try:
                self.storage.create_list(name, feed=ListFeed.csv, created_by=None, now=self.now)
            except ConflictError:
                return
            raise AssertionError(f"list name {name!r} was accepted twice")
        self.lists[name] = self.storage.create_list(
            name, feed=ListFeed.csv, created_by=None, now=self.now
        ).id

    @precondition(lambda self: self.lists)
    @rule(index=_index, rows=_rows)
    def add_contacts(self, index: int, rows: list[tuple[str | None, str | None, set[str]]]) -> None:
        """Add contacts; a phone already in the list (or twice in the call) refuses all."""
        name = self._pick_list(index)
        drafts = [
            ContactDraft(self.lists[name], phone=p, email=e, tags=tuple(sorted(t)))
            for p, e, t in rows
        ]
        phones = [p for p, _, _ in rows if p is not None]
        clash = len(phones) != len(set(phones)) or any(self._phone_taken(name, p) for p in phones)
        if clash:
            try:
                self.storage.add_contacts(drafts, now=self.now)
            except ConflictError:
                return
            raise AssertionError("a phone was stored twice in one list")
        ids = self.storage.add_contacts(drafts, now=self.now)
        assert len(ids) == len(drafts) and not set(ids) & set(self.contacts)
        for contact_id, draft in zip(ids, drafts, strict=True):
            self.contacts[contact_id] = ModelContact(
                name, self._next_order(), draft.phone, draft.email, draft.tags
            )

    @precondition(lambda self: self.contacts)
    @rule(
        index=_index,
        name=st.none() | st.sampled_from(("An", "Binh")),
        tags=st.lists(st.sampled_from(TAGS), max_size=2),
        fields=st.dictionaries(st.sampled_from(("k1", "k2")), st.sampled_from(("x", "y"))),
        owner=st.none() | st.sampled_from(AGENTS),
        clear_owner=st.booleans(),
        callback_hours=st.none() | st.integers(min_value=-2, max_value=3),
    )
    def update_contact(
        self,
        *,
        index: int,
        name: str | None,
        tags: list[str],
        fields: dict[str, str],
        owner: str | None,
        clear_owner: bool,
        callback_hours: int | None,
    ) -> None:
        """Update one contact: name, tags added, fields merged, owner, a callback."""
        contact_id = self._pick_contact(index)
        callback = None if callback_hours is None else self.now + timedelta(hours=callback_hours)
        self.storage.update_contacts(
            [
                ContactUpdate(
                    contact_id,
                    name=name,
                    add_tags=tuple(tags),
                    fields=fields,
                    owner=owner,
                    clear_owner=clear_owner,
                    callback_at=callback,
                    callback_agent=None if callback is None else AGENTS[0],
                )
            ],
            now=self.now,
        )
        model = self.contacts[contact_id]
        model.name = name if name is not None else model.name
        model.tags = model.tags + tuple(dict.fromkeys(t for t in tags if t not in model.tags))
        model.fields = {**model.fields, **fields}
        if clear_owner:
            model.owner, model.assigned_at = None, None
        if owner is not None:
            model.owner, model.assigned_at = owner, self.now
        if callback is not None:
            model.callback_at, model.callback_agent = callback, AGENTS[0]

    @precondition(lambda self: self.contacts)
    @rule(index=_index, destination=_index)
    def move_contact(self, index: int, destination: int) -> None:
        """Move a contact to another list; ConflictError if its phone is there."""
        contact_id = self._pick_contact(index)
        name = self._pick_list(destination)
        update = ContactUpdate(contact_id, move_to_list=self.lists[name])
        model = self.contacts[contact_id]
        if model.list_name != name and self._phone_taken(name, model.phone, but=contact_id):
            try:
                self.storage.update_contacts([update], now=self.now)
            except ConflictError:
                return
            raise AssertionError("a move put one phone twice in a list")
        self.storage.update_contacts([update], now=self.now)
        if model.list_name != name:
            model.list_name, model.order = name, self._next_order()

    @precondition(lambda self: self.contacts)
    @rule(indexes=st.lists(_index, min_size=1, max_size=3))
    def delete_contacts(self, indexes: list[int]) -> None:
        """Delete some contacts (the count says how many existed)."""
        ids = {self._pick_contact(i) for i in indexes}
        assert self.storage.delete_contacts([*ids, max(ids) + 10_000]) == len(ids)
        for contact_id in ids:
            del self.contacts[contact_id]

    @precondition(lambda self: self.contacts)
    @rule(index=_index, status=st.sampled_from(ProcessingStatus))
    def mark_processed(self, index: int, status: ProcessingStatus) -> None:
        """An agent sets a processing status."""
        contact_id = self._pick_contact(index)
        self.storage.mark_processed(contact_id, status=status, now=self.now)
        model = self.contacts[contact_id]
        model.status = status
        model.processed_at = None if status is ProcessingStatus.unprocessed else self.now

    @precondition(lambda self: self.lists)
    @rule(
        index=_index,
        scope=st.sampled_from(Scope),
        agents=st.lists(st.sampled_from(AGENTS), min_size=1, max_size=3, unique=True),
    )
    def distribute(self, index: int, scope: Scope, agents: list[str]) -> None:
        """Distribute evenly in import order; pinned callbacks and (for unprocessed)
        worked records stay where they are."""
        name = self._pick_list(index)
        chosen = [
            cid
            for cid, c in self._members(name)
            if not (c.callback_at is not None and self.now < c.callback_at)
            and (
                c.owner is None
                if scope is Scope.unassigned
                else c.status is ProcessingStatus.unprocessed
            )
        ]
        shares = self.storage.distribute(
            self.lists[name],
            scope=scope,
            planner=EvenSplit(tuple(agents)),
            order="position",
            now=self.now,
        )
        assert sum(share.count for share in shares) == len(chosen)
        start = 0
        for share in shares:
            for cid in chosen[start : start + share.count]:
                self.contacts[cid].owner = share.agent
                self.contacts[cid].assigned_at = self.now
            start += share.count

    @precondition(lambda self: self.lists)
    @rule(
        index=_index,
        tag=st.sampled_from(TAGS),
        agent=st.sampled_from(AGENTS),
        limit=st.none() | st.integers(min_value=0, max_value=3),
    )
    def assign_matching(self, index: int, tag: str, agent: str, limit: int | None) -> None:
        """Manual assignment of matching unprocessed records, in import order."""
        name = self._pick_list(index)
        chosen = [
            cid
            for cid, c in self._members(name)
            if tag in c.tags
            and c.status is ProcessingStatus.unprocessed
            and c.owner != agent
            and not (
                c.callback_at is not None and self.now < c.callback_at and c.callback_agent != agent
            )
        ][:limit]
        query = ContactQuery(list_id=self.lists[name], tags=(tag,))
        assert self.storage.assign_matching(query, agent=agent, limit=limit, now=self.now) == len(
            chosen
        )
        for cid in chosen:
            self.contacts[cid].owner, self.contacts[cid].assigned_at = agent, self.now

    @rule(limits=st.dictionaries(st.sampled_from(COUNTER_KEYS), st.integers(0, 3)))
    def reserve_counters(self, limits: dict[str, int]) -> None:
        """All counters below their limits gain one; otherwise nothing changes."""
        fits = all(self.counters.get(k, 0) < limit for k, limit in limits.items())
        assert self.storage.reserve_counters(list(limits.items())) is fits
        if fits:
            for key in limits:
                self.counters[key] = self.counters.get(key, 0) + 1

    @rule(keys=st.lists(st.sampled_from(COUNTER_KEYS), max_size=2, unique=True))
    def release_counters(self, keys: list[str]) -> None:
        """Counters go down by one, never below zero."""
        self.storage.release_counters(keys)
        for key in keys:
            self.counters[key] = max(0, self.counters.get(key, 0) - 1)

    @rule(opting=st.lists(st.sampled_from(PHONES + EMAILS), max_size=3))
    def add_opt_outs(self, opting: list[str]) -> None:
        """Opt-outs count the new ones."""
        new = {fold(t) for t in opting} - self.opt_outs
        assert self.storage.add_opt_outs(opting, now=self.now) == len(new)
        self.opt_outs |= new

    @rule(opted=st.sampled_from(PHONES + EMAILS))
    def remove_opt_out(self, opted: str) -> None:
        """Removing says whether the target was opted out."""
        assert self.storage.remove_opt_out(opted) is (fold(opted) in self.opt_outs)
        self.opt_outs.discard(fold(opted))

    @rule(minutes=st.integers(min_value=1, max_value=120))
    def advance_clock(self, minutes: int) -> None:
        """Time passes (callbacks come due)."""
        self.now += timedelta(minutes=minutes)

    @rule(
        phones=st.lists(_phones, max_size=3), emails=st.lists(st.sampled_from(EMAILS), max_size=2)
    )
    def find_by_keys(self, phones: list[str | None], emails: list[str]) -> None:
        """The per-batch duplicate lookup finds every contact with one of the keys."""
        wanted_phones = {p for p in phones if p is not None}
        wanted_emails = {fold(e) for e in emails}
        expected = {
            cid
            for cid, c in self.contacts.items()
            if c.phone in wanted_phones or (c.email is not None and fold(c.email) in wanted_emails)
        }
        found = self.storage.find_contacts_by_keys(
            phones=sorted(wanted_phones), emails=emails, crm_ids=[]
        )
        assert sorted(c.id for c in found) == sorted(expected)

    # -- invariants ----------------------------------------------------------------------
    @invariant()
    def contacts_agree(self) -> None:
        """Every list holds exactly the model's contacts, in import order."""
        for name, list_id in self.lists.items():
            expected = [c.view(cid) for cid, c in self._members(name)]
            assert contact_view(self.storage, list_id) == expected

    @invariant()
    def counters_agree(self) -> None:
        """Counter values match."""
        expected = {key: self.counters.get(key, 0) for key in COUNTER_KEYS}
        assert self.storage.counter_values(list(COUNTER_KEYS)) == expected

    @invariant()
    def opt_outs_agree(self) -> None:
        """The opt-out list matches (emails ignoring case)."""
        targets = list(PHONES + EMAILS)
        expected = {t for t in targets if fold(t) in self.opt_outs}
        assert self.storage.opted_out(targets) == expected

    @invariant()
    def task_stats_agree(self) -> None:
        """total, completed, assigned, unassigned and per-agent figures match."""
        for name, list_id in self.lists.items():
            members = [c for _, c in self._members(name)]
            owners = sorted({c.owner for c in members if c.owner is not None})
            worked = [c for c in members if c.status is not ProcessingStatus.unprocessed]
            assigned = sum(c.owner is not None for c in members)
            expected = TaskStats(
                total=len(members),
                completed=len(worked),
                assigned=assigned,
                unassigned=len(members) - assigned,
                agents=tuple(
                    AgentFigures(
                        a, sum(c.owner == a for c in members), sum(c.owner == a for c in worked)
                    )
                    for a in owners
                ),
            )
            assert self.storage.task_stats(list_id, now=self.now) == expected


def make_storage_machine(
    factory: Callable[[], Storage], name: str = "StorageMachine"
) -> type[StorageStateMachine]:
    """A :class:`StorageStateMachine` subclass whose backend comes from ``factory``;
    its ``.TestCase`` is a unittest class pytest collects."""
    namespace = {"storage_factory": staticmethod(factory), "__module__": __name__}
    return cast(type[StorageStateMachine], type(name, (StorageStateMachine,), namespace))
