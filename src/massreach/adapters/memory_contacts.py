"""Lists, contacts, agents and distribution of the ``memory:`` backend."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

import attrs

from massreach.adapters.memory_state import MemoryState, fold, in_utc, locked
from massreach.core.distribution import (
    DistributionOrder,
    ProcessingStatus,
    RecordState,
    Scope,
    Share,
    assign_in_order,
    in_scope,
)
from massreach.errors import ConflictError, InvalidInput, NotFound
from massreach.model import (
    Agent,
    AgentFigures,
    Contact,
    ContactDraft,
    ContactList,
    ContactQuery,
    ContactUpdate,
    TaskStats,
)
from massreach.model.contacts import ListFeed, apply_update
from massreach.storage.protocol import SharePlanner

__all__ = ["MemoryContacts"]


def _pinned(contact: Contact, now: datetime) -> bool:
    """A pinned callback whose date has not come."""
    return contact.callback_at is not None and now < contact.callback_at


class MemoryContacts(MemoryState):
    """Lists, contacts, agents and distribution, in dicts."""

    @locked
    def create_list(
        self, name: str, *, feed: ListFeed, created_by: str | None, now: datetime
    ) -> ContactList:
        """Create a list; ConflictError if the name is taken."""
        if self._list_named(name) is not None:
            raise ConflictError(
                f"A list named {name!r} already exists.",
                code="list.name_taken",
                details={"name": name},
            )
        created = ContactList(
            id=self._next_id("list"),
            name=name,
            feed=ListFeed(feed),
            created_at=now.astimezone(UTC),
            created_by=created_by,
        )
        self._lists[created.id] = created
        return created

    def _list_named(self, name: str) -> ContactList | None:
        return next((lst for lst in self._lists.values() if lst.name == name), None)

    @locked
    def get_list(self, name: str) -> ContactList | None:
        """The list with this name, or None."""
        return self._list_named(name)

    @locked
    def get_list_by_id(self, list_id: int) -> ContactList | None:
        """The list with this id, or None."""
        return self._lists.get(list_id)

    @locked
    def lists(self) -> list[ContactList]:
        """Every list, by id."""
        return [self._lists[key] for key in sorted(self._lists)]

    # -- contacts ----------------------------------------------------------------
    def _copy(self, contact: Contact) -> Contact:
        return attrs.evolve(contact)  # fresh ``fields`` dict: callers cannot reach ours

    def _in_list(self, list_id: int) -> list[Contact]:
        return [c for _, c in sorted(self._contacts.items()) if c.list_id == list_id]

    @locked
    def find_contacts_by_keys(
        self, *, phones: Sequence[str], emails: Sequence[str], crm_ids: Sequence[str]
    ) -> list[Contact]:
        """Contacts in ANY list whose phone, email (case-insensitive) or CRM id is given."""
        phone_set, crm_set = set(phones), set(crm_ids)
        email_set = {fold(email) for email in emails}
        return [
            self._copy(c)
            for _, c in sorted(self._contacts.items())
            if (c.phone is not None and c.phone in phone_set)
            or (c.email is not None and fold(c.email) in email_set)
            or (c.crm_id is not None and c.crm_id in crm_set)
        ]

    def _require_list(self, list_id: int) -> None:
        if list_id not in self._lists:
            raise NotFound(
                f"There is no list with id {list_id}.",
                code="list.not_found",
                details={"list_id": list_id},
            )

    def _check_phones(
        self, drafts: Sequence[ContactDraft], moves: Iterable[tuple[int, int]]
    ) -> None:
        """ConflictError unless the new contacts and moves keep phones unique per list."""
        taken: set[tuple[int, str]] = set()

        def claim(list_id: int, phone: str | None, contact_id: int | None) -> None:
            if phone is None:
                return
            key = (list_id, phone)
            holder = self._phones.get(key)
            if key in taken or (holder is not None and holder != contact_id):
                raise ConflictError(
                    "This phone number is already in the list; a phone may appear "
                    "only once per list.",
                    code="contact.duplicate_phone",
                    details={"list_id": list_id},
                )
            taken.add(key)

        for draft in drafts:
            self._require_list(draft.list_id)
            claim(draft.list_id, draft.phone, None)
        for contact_id, list_id in moves:
            self._require_list(list_id)
            contact = self._contacts.get(contact_id)
            if contact is not None and contact.list_id != list_id:
                claim(list_id, contact.phone, contact_id)

    def _position_in(self, list_id: int) -> int:
        self._last_position[list_id] = self._last_position.get(list_id, 0) + 1
        return self._last_position[list_id]

    def _store(self, contact: Contact) -> None:
        old = self._contacts.get(contact.id)
        if old is not None and old.phone is not None:
            self._phones.pop((old.list_id, old.phone), None)
        self._contacts[contact.id] = contact
        if contact.phone is not None:
            self._phones[(contact.list_id, contact.phone)] = contact.id

    def _insert(self, drafts: Sequence[ContactDraft]) -> list[int]:
        ids = []
        for draft in drafts:
            values = attrs.asdict(draft, recurse=False)
            contact = Contact(
                id=self._next_id("contact"),
                position=self._position_in(draft.list_id),
                **values,
            )
            self._store(in_utc(contact))
            ids.append(contact.id)
        return ids

    @locked
    def add_contacts(self, drafts: Sequence[ContactDraft], *, now: datetime) -> list[int]:
        """Store new contacts at the end of their lists; returns their ids in order."""
        self._check_phones(drafts, ())
        return self._insert(drafts)

    def _apply_update(self, update: ContactUpdate, now: datetime) -> None:
        contact = self._contacts.get(update.contact_id)
        if contact is None:
            return
        target = update.move_to_list
        moving = target is not None and target != contact.list_id
        position = self._position_in(target) if target is not None and moving else None
        self._store(in_utc(apply_update(contact, update, now, position=position)))

    def _moves(self, updates: Sequence[ContactUpdate]) -> list[tuple[int, int]]:
        return [(u.contact_id, u.move_to_list) for u in updates if u.move_to_list is not None]

    @locked
    def update_contacts(self, updates: Sequence[ContactUpdate], *, now: datetime) -> None:
        """Apply changes to stored contacts (never their phone); unknown ids are skipped."""
        self._check_phones((), self._moves(updates))
        for update in updates:
            self._apply_update(update, now.astimezone(UTC))

    @locked
    def delete_contacts(self, contact_ids: Sequence[int]) -> int:
        """Delete contacts; returns how many existed."""
        deleted = 0
        for contact_id in set(contact_ids):
            contact = self._contacts.pop(contact_id, None)
            if contact is not None:
                deleted += 1
                if contact.phone is not None:
                    self._phones.pop((contact.list_id, contact.phone), None)
        return deleted

    @locked
    def get_contact(self, contact_id: int) -> Contact | None:
        """One contact by id."""
        contact = self._contacts.get(contact_id)
        return None if contact is None else self._copy(contact)

    def _matching(self, query: ContactQuery) -> Iterator[Contact]:
        email = None if query.email is None else fold(query.email)
        name_part = None if query.name_contains is None else query.name_contains.casefold()
        for _, c in sorted(self._contacts.items()):
            if (
                (query.list_id is None or c.list_id == query.list_id)
                and (query.phone is None or c.phone == query.phone)
                and (email is None or (c.email is not None and fold(c.email) == email))
                and (name_part is None or (c.name is not None and name_part in c.name.casefold()))
                and (not query.tags or any(tag in c.tags for tag in query.tags))
                and (query.status is None or c.status == query.status)
                and (query.owner is None or c.owner == query.owner)
                and (not query.unassigned or c.owner is None)
                and (query.crm_id is None or c.crm_id == query.crm_id)
            ):
                yield c

    @locked
    def find_contacts(
        self, query: ContactQuery, *, limit: int | None = None, after_id: int = 0
    ) -> list[Contact]:
        """Contacts matching every part of ``query``, by id, ``id > after_id``."""
        found: list[Contact] = []
        for contact in self._matching(query):
            if limit is not None and len(found) >= limit:
                break
            if contact.id > after_id:
                found.append(self._copy(contact))
        return found

    @locked
    def count_contacts(self, query: ContactQuery) -> int:
        """How many contacts match ``query``."""
        return sum(1 for _ in self._matching(query))

    # -- agents and distribution ---------------------------------------------------
    @locked
    def save_agent(self, agent: Agent) -> None:
        """Add or replace an agent."""
        self._agents[agent.id] = agent

    @locked
    def agents(self, *, active_only: bool = False) -> list[Agent]:
        """Agents by id."""
        return [
            self._agents[key]
            for key in sorted(self._agents)
            if self._agents[key].active or not active_only
        ]

    @locked
    def get_agent(self, agent_id: str) -> Agent | None:
        """One agent by id."""
        return self._agents.get(agent_id)

    @locked
    def distribute(
        self,
        list_id: int,
        *,
        scope: Scope,
        planner: SharePlanner,
        order: str,
        now: datetime,
    ) -> tuple[Share, ...]:
        """Hand the list's records in ``scope`` to agents by the planner's shares."""
        if order not in ("position", "priority"):
            raise InvalidInput(
                f"Records can be ordered by 'position' or 'priority', not {order!r}.",
                code="distribution.bad_order",
                details={"field": order},
            )
        self._require_list(list_id)
        now = now.astimezone(UTC)
        ordering = DistributionOrder("priority" if order == "priority" else "position")
        members = sorted(
            self._in_list(list_id),
            key=lambda c: ordering.key(c.id, c.position, c.priority),
        )
        chosen = [
            c.id
            for c in members
            if in_scope(
                RecordState(c.id, c.owner, c.status, c.callback_at, c.callback_agent),
                Scope(scope),
                now,
            )
        ]
        shares = tuple(planner(len(chosen)))
        owners = assign_in_order(chosen, shares)
        for contact_id, agent in owners.items():
            contact = self._contacts[contact_id]
            self._store(attrs.evolve(contact, owner=agent, assigned_at=now))
        return shares

    @locked
    def assign_matching(
        self, query: ContactQuery, *, agent: str, limit: int | None, now: datetime
    ) -> int:
        """Give up to ``limit`` matching unprocessed contacts, in import order, to ``agent``."""
        now = now.astimezone(UTC)
        candidates = sorted(
            (
                c
                for c in self._matching(query)
                if c.status is ProcessingStatus.unprocessed
                and c.owner != agent
                and not (_pinned(c, now) and c.callback_agent != agent)
            ),
            key=lambda c: (c.list_id, c.position, c.id),
        )
        if limit is not None:
            candidates = candidates[: max(limit, 0)]
        for contact in candidates:
            self._store(attrs.evolve(contact, owner=agent, assigned_at=now))
        return len(candidates)

    @locked
    def mark_processed(
        self, contact_id: int, *, status: ProcessingStatus, now: datetime
    ) -> Contact:
        """Record the processing status an agent set on a record."""
        contact = self._contacts.get(contact_id)
        if contact is None:
            raise NotFound(
                f"There is no contact with id {contact_id}.",
                code="contact.not_found",
                details={"contact_id": contact_id},
            )
        status = ProcessingStatus(status)
        done = status is not ProcessingStatus.unprocessed
        updated = attrs.evolve(
            contact, status=status, processed_at=now.astimezone(UTC) if done else None
        )
        self._store(updated)
        return self._copy(updated)

    @locked
    def task_stats(self, list_id: int, *, now: datetime) -> TaskStats:
        """total, completed, assigned (owner set), unassigned (no owner), per agent."""
        members = self._in_list(list_id)
        per_agent: dict[str, list[int]] = {}
        for contact in members:
            if contact.owner is not None:
                figures = per_agent.setdefault(contact.owner, [0, 0])
                figures[0] += 1
                figures[1] += contact.status is not ProcessingStatus.unprocessed
        assigned = sum(figures[0] for figures in per_agent.values())
        return TaskStats(
            total=len(members),
            completed=sum(c.status is not ProcessingStatus.unprocessed for c in members),
            assigned=assigned,
            unassigned=len(members) - assigned,
            agents=tuple(
                AgentFigures(agent, figures[0], figures[1])
                for agent, figures in sorted(per_agent.items())
            ),
        )
