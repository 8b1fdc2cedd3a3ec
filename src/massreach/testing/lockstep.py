"""A hypothesis state machine that drives several backends in lockstep.

Every rule performs the same operation on each backend (memory, SQLite,
PostgreSQL, yours) and asserts they answer alike: the same result, or the same
kind of error. Ids may differ between backends, so each logical contact and
message is tracked by its index and results are compared without ids. After each
step the invariant compares a snapshot of everything observable: lists, contacts
in import order, counters, opt-outs, task figures and outbox states. Beyond the
plain-dict model of :mod:`massreach.testing.stateful`, it exercises campaigns,
audience expansion, claims, outcomes, rolling windows and rate slots.

::

    TestAgreement = make_lockstep_machine(MemoryStorage, lambda: SqliteStorage(url)).TestCase
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar, cast

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from massreach.core.distribution import EvenSplit, ProcessingStatus, Scope
from massreach.core.lifecycle import CampaignState
from massreach.errors import MassreachError
from massreach.model import ContactDraft, ContactQuery, ContactUpdate, MessageOutcome, MessageState
from massreach.model.contacts import ListFeed
from massreach.storage import Storage
from massreach.testing.stateful import AGENTS, EMAILS, LIST_NAMES, PHONES, TAGS
from massreach.testing.storage_base import CLOCK_START, make_campaign

__all__ = ["LockstepMachine", "make_lockstep_machine"]

_index = st.integers(min_value=0, max_value=1000)
_rows = st.lists(
    st.tuples(
        st.none() | st.sampled_from(PHONES),
        st.none() | st.sampled_from(EMAILS),
        st.sets(st.sampled_from(TAGS)),
        st.none() | st.integers(0, 3),
    ),
    max_size=4,
)
_LEASE = timedelta(minutes=5)
_WINDOWS = {"w10m": timedelta(minutes=10), "w1h": timedelta(hours=1)}


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", value) or ("error", error class name): comparable across backends."""
    try:
        return ("ok", call())
    except MassreachError as exc:
        return ("error", type(exc).__name__)


def snapshot(storage: Storage, now: datetime) -> dict[str, Any]:
    """Everything observable, without ids: the state two backends must agree on."""
    lists = storage.lists()
    shot: dict[str, Any] = {"lists": [(lst.name, lst.feed) for lst in lists]}
    for lst in lists:
        contacts = sorted(
            storage.find_contacts(ContactQuery(list_id=lst.id)), key=lambda c: c.position
        )
        shot[f"contacts:{lst.name}"] = [
            (
                c.phone,
                c.email,
                c.name,
                c.tags,
                c.fields,
                c.owner,
                c.status,
                c.priority,
                c.assigned_at,
                c.processed_at,
            )
            for c in contacts
        ]
        shot[f"stats:{lst.name}"] = storage.task_stats(lst.id, now=now)
    for campaign in storage.campaigns():
        shot[f"outbox:{campaign.name}"] = sorted(
            (m.target, m.state, m.attempts, m.lease_owner, m.due_at, m.reason)
            for m in storage.messages(campaign.id, limit=10_000)
        )
    shot["counters"] = storage.counter_values(["a", "b"])
    shot["opt_outs"] = storage.opted_out(list(PHONES + EMAILS))
    return shot


class LockstepMachine(RuleBasedStateMachine):
    """Drives ``make_storages()`` in lockstep; see the module docstring."""

    storage_factories: ClassVar[Sequence[Callable[[], Storage]]] = ()

    def __init__(self) -> None:
        super().__init__()
        self.backends = self.make_storages()
        if len(self.backends) < 2:
            raise ValueError("lockstep needs at least two backends")
        self.now = CLOCK_START
        self.list_ids: dict[str, list[int]] = {}
        self.contact_ids: list[list[int]] = []
        self.campaign_ids: dict[str, list[int]] = {}

    def make_storages(self) -> list[Storage]:
        """Fresh, empty backends for one example."""
        return [factory() for factory in type(self).storage_factories]

    def teardown(self) -> None:
        """Close every backend of this example."""
        for storage in self.backends:
            storage.close()

    def _agree(self, call: Callable[[int, Storage], Any]) -> tuple[str, Any]:
        """Run ``call(backend index, backend)`` on each backend; all must answer alike."""
        answers = [_outcome(partial(call, i, s)) for i, s in enumerate(self.backends)]
        assert all(a == answers[0] for a in answers[1:]), answers
        return answers[0]

    def _run(self, call: Callable[[int, Storage], Any]) -> list[tuple[str, Any]]:
        """Like :meth:`_agree` but returns each answer (for results holding ids)."""
        answers = [_outcome(partial(call, i, s)) for i, s in enumerate(self.backends)]
        assert len({kind for kind, _ in answers}) == 1, answers
        return answers

    def _contact(self, index: int) -> list[int]:
        return self.contact_ids[index % len(self.contact_ids)]

    def _list(self, index: int) -> list[int]:
        names = sorted(self.list_ids)
        return self.list_ids[names[index % len(names)]]

    @rule(name=st.sampled_from(LIST_NAMES))
    def create_list(self, name: str) -> None:
        """Create a list (a taken name fails everywhere)."""
        answers = self._run(
            lambda _, s: s.create_list(name, feed=ListFeed.csv, created_by=None, now=self.now).id
        )
        if answers[0][0] == "ok":
            self.list_ids[name] = [value for _, value in answers]

    @precondition(lambda self: self.list_ids)
    @rule(index=_index, rows=_rows)
    def add_contacts(self, index: int, rows: list[Any]) -> None:
        """Add contacts (duplicates of a phone fail everywhere)."""
        ids = self._list(index)
        answers = self._run(
            lambda i, s: s.add_contacts(
                [
                    ContactDraft(ids[i], phone=p, email=e, tags=tuple(sorted(t)), priority=prio)
                    for p, e, t, prio in rows
                ],
                now=self.now,
            )
        )
        if answers[0][0] == "ok":
            self.contact_ids += [list(per) for per in zip(*(v for _, v in answers), strict=True)]

    @precondition(lambda self: self.contact_ids)
    @rule(
        index=_index,
        destination=st.none() | _index,
        owner=st.none() | st.sampled_from(AGENTS),
        tags=st.lists(st.sampled_from(TAGS), max_size=2),
        name=st.none() | st.just("Lan"),
    )
    def update_contact(
        self,
        index: int,
        destination: int | None,
        owner: str | None,
        tags: list[str],
        name: str | None,
    ) -> None:
        """Update (and maybe move) one contact."""
        ids = self._contact(index)
        lists = None if destination is None else self._list(destination)
        self._agree(
            lambda i, s: s.update_contacts(
                [
                    ContactUpdate(
                        ids[i],
                        owner=owner,
                        add_tags=tuple(tags),
                        name=name,
                        move_to_list=None if lists is None else lists[i],
                    )
                ],
                now=self.now,
            )
        )

    @precondition(lambda self: self.contact_ids)
    @rule(index=_index)
    def delete_contact(self, index: int) -> None:
        """Delete one contact."""
        ids = self._contact(index)
        self._agree(lambda i, s: s.delete_contacts([ids[i]]))
        self.contact_ids.remove(ids)

    @precondition(lambda self: self.contact_ids)
    @rule(index=_index, status=st.sampled_from(ProcessingStatus))
    def mark_processed(self, index: int, status: ProcessingStatus) -> None:
        """Mark one record worked."""
        ids = self._contact(index)
        self._agree(lambda i, s: s.mark_processed(ids[i], status=status, now=self.now).status)

    @precondition(lambda self: self.list_ids)
    @rule(
        index=_index,
        scope=st.sampled_from(Scope),
        order=st.sampled_from(("position", "priority")),
        agents=st.lists(st.sampled_from(AGENTS), min_size=1, max_size=3, unique=True),
    )
    def distribute(self, index: int, scope: Scope, order: str, agents: list[str]) -> None:
        """Distribute evenly; the shares must agree."""
        ids = self._list(index)
        self._agree(
            lambda i, s: s.distribute(
                ids[i], scope=scope, planner=EvenSplit(tuple(agents)), order=order, now=self.now
            )
        )

    @precondition(lambda self: self.list_ids)
    @rule(
        index=_index,
        tag=st.sampled_from(TAGS),
        agent=st.sampled_from(AGENTS),
        limit=st.none() | st.integers(0, 3),
    )
    def assign_matching(self, index: int, tag: str, agent: str, limit: int | None) -> None:
        """Manual assignment."""
        ids = self._list(index)
        self._agree(
            lambda i, s: s.assign_matching(
                ContactQuery(list_id=ids[i], tags=(tag,)), agent=agent, limit=limit, now=self.now
            )
        )

    @precondition(lambda self: self.list_ids)
    @rule(
        index=_index,
        name=st.sampled_from(("march", "april")),
        tags=st.lists(st.sampled_from(TAGS), max_size=2),
        channel=st.sampled_from(("sms", "email")),
    )
    def create_campaign(self, index: int, name: str, tags: list[str], channel: str) -> None:
        """A campaign in state sending over a list (a taken name fails everywhere)."""
        ids = self._list(index)
        answers = self._run(
            lambda i, s: (
                make_campaign(
                    s, name, list_id=ids[i], tags=tags, channel=channel, state=CampaignState.sending
                ).id
            )
        )
        if answers[0][0] == "ok":
            self.campaign_ids[name] = [value for _, value in answers]

    @precondition(lambda self: self.campaign_ids)
    @rule(name=st.sampled_from(("march", "april")))
    def expand_audience(self, name: str) -> None:
        """Expand a campaign's audience; the number created must agree."""
        if name not in self.campaign_ids:
            return
        ids = self.campaign_ids[name]

        def expand(i: int, s: Storage) -> int:
            campaign = s.get_campaign_by_id(ids[i])
            assert campaign is not None
            field = "phone" if campaign.channel == "sms" else "email"
            return s.expand_audience(campaign, channel_field=field, now=self.now)

        self._agree(expand)

    @rule(limit=st.integers(1, 4), state=st.sampled_from((MessageState.sent, MessageState.held)))
    def claim_and_record(self, limit: int, state: MessageState) -> None:
        """Claim due messages, then record an outcome for the first of them."""

        def claim(_: int, s: Storage) -> list[str]:
            claimed = s.claim_messages(worker="w", now=self.now, lease=_LEASE, limit=limit)
            if claimed:
                due = self.now + timedelta(minutes=30)
                s.record_outcomes(
                    [MessageOutcome(claimed[0].id, state, due_at=due)], worker="w", now=self.now
                )
            return sorted(m.target for m in claimed)

        self._agree(claim)

    @rule(
        limits=st.dictionaries(st.sampled_from(("a", "b")), st.integers(0, 3)),
        release=st.booleans(),
    )
    def counters(self, limits: dict[str, int], release: bool) -> None:
        """Reserve (or release) counters."""
        if release:
            self._agree(lambda _, s: s.release_counters(list(limits)))
        else:
            self._agree(lambda _, s: s.reserve_counters(list(limits.items())))

    @rule(key=st.sampled_from(sorted(_WINDOWS)), limit=st.integers(1, 3), release=st.booleans())
    def reserve_window(self, key: str, limit: int, release: bool) -> None:
        """Rolling windows (one window per key, as the protocol asks) answer alike;
        sometimes the event just recorded is given back."""

        def reserve(_: int, s: Storage) -> tuple[datetime | None, bool | None]:
            refused = s.reserve_window(key, now=self.now, window=_WINDOWS[key], limit=limit)
            released = s.release_window(key, at=self.now) if release else None
            return refused, released

        self._agree(reserve)

    @rule(rate=st.sampled_from((0.5, 2.0, 10.0)))
    def take_rate_slot(self, rate: float) -> None:
        """Rate slots answer alike."""
        self._agree(
            lambda _, s: round(s.take_rate_slot("gw", rate_per_second=rate, now=self.now), 6)
        )

    @rule(opting=st.lists(st.sampled_from(PHONES + EMAILS), max_size=2), add=st.booleans())
    def opt_outs(self, opting: list[str], add: bool) -> None:
        """Add or remove opt-outs."""
        if add:
            self._agree(lambda _, s: s.add_opt_outs(opting, now=self.now))
        else:
            self._agree(lambda _, s: [s.remove_opt_out(t) for t in opting])

    @rule(minutes=st.integers(min_value=1, max_value=60))
    def advance_clock(self, minutes: int) -> None:
        """Time passes (leases run out, held messages come due)."""
        self.now += timedelta(minutes=minutes)

    @invariant()
    def backends_agree(self) -> None:
        """Every backend shows the same state."""
        shots = [snapshot(s, self.now) for s in self.backends]
        for shot in shots[1:]:
            assert shot == shots[0]


def make_lockstep_machine(
    *factories: Callable[[], Storage], name: str = "LockstepStorageMachine"
) -> type[LockstepMachine]:
    """A :class:`LockstepMachine` over backends made by ``factories`` (two or more);
    its ``.TestCase`` is a unittest class pytest collects."""
    namespace = {"storage_factories": tuple(factories), "__module__": __name__}
    return cast(type[LockstepMachine], type(name, (LockstepMachine,), namespace))
