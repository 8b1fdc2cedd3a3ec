"""Contacts and the lists (campaigns, calling tasks) they belong to."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs
from attrs import field, frozen

from massreach.core.distribution import ProcessingStatus
from massreach.model.fields import aware, masked_repr, to_str_dict, to_tuple


class ListFeed(StrEnum):
    """Where a list's records come from; chosen at creation, never changed."""

    csv = "csv"
    crm = "crm"


@frozen
class ContactList:
    """A set of contacts work is done on: a bulk-send list or an outbound calling task."""

    id: int
    name: str
    feed: ListFeed = ListFeed.csv
    created_at: datetime | None = field(default=None, converter=aware)
    created_by: str | None = None


@frozen
class Contact:
    """One stored customer record of one list.

    ``phone`` is E.164 and never changes once stored; ``email`` keeps the case it
    was written in but compares case-insensitively; ``fields`` holds custom fields
    and the positional variables ``param0`` … ``param9``. ``position`` is the import
    order inside the list, the default order of distribution.
    """

    id: int
    list_id: int
    position: int
    phone: str | None = field(default=None, repr=masked_repr)
    email: str | None = None
    name: str | None = None
    description: str | None = None
    gender: str | None = None
    crm_id: str | None = None
    tags: tuple[str, ...] = field(default=(), converter=to_tuple)
    fields: dict[str, str] = field(factory=dict, converter=to_str_dict)
    owner: str | None = None
    status: ProcessingStatus = field(
        default=ProcessingStatus.unprocessed, converter=ProcessingStatus
    )
    callback_at: datetime | None = field(default=None, converter=aware)
    callback_agent: str | None = None
    priority: int | None = None
    plan_id: int | None = None
    assigned_at: datetime | None = field(default=None, converter=aware)
    processed_at: datetime | None = field(default=None, converter=aware)

    def variables(self) -> dict[str, str]:
        """Every value a template may use for this contact (named and positional)."""
        values = dict(self.fields)
        for name in ("name", "email", "phone", "description", "gender", "crm_id"):
            value = getattr(self, name)
            if value is not None and name not in values:
                values[name] = value
        return values


@frozen
class ContactDraft:
    """A contact about to be stored (no id or position yet)."""

    list_id: int
    phone: str | None = field(default=None, repr=masked_repr)
    email: str | None = None
    name: str | None = None
    description: str | None = None
    gender: str | None = None
    crm_id: str | None = None
    tags: tuple[str, ...] = field(default=(), converter=to_tuple)
    fields: dict[str, str] = field(factory=dict, converter=to_str_dict)
    owner: str | None = None
    status: ProcessingStatus = field(
        default=ProcessingStatus.unprocessed, converter=ProcessingStatus
    )
    callback_at: datetime | None = field(default=None, converter=aware)
    callback_agent: str | None = None
    priority: int | None = None
    plan_id: int | None = None


@frozen
class ContactUpdate:
    """A change to one stored contact. ``None`` means "leave as it is".

    The phone is not here on purpose: a stored phone never changes. ``fields`` are
    merged into the stored ones; ``add_tags`` are added to the stored ones (in
    order, without repeats). ``clear_owner`` is applied before ``owner``.
    ``plan_id`` records the import plan that touched the contact last.
    """

    contact_id: int
    email: str | None = None
    name: str | None = None
    description: str | None = None
    gender: str | None = None
    crm_id: str | None = None
    add_tags: tuple[str, ...] = field(default=(), converter=to_tuple)
    fields: dict[str, str] = field(factory=dict, converter=to_str_dict)
    clear_owner: bool = False
    owner: str | None = None
    status: ProcessingStatus | None = None
    callback_at: datetime | None = field(default=None, converter=aware)
    callback_agent: str | None = None
    move_to_list: int | None = None
    plan_id: int | None = None


@frozen
class ContactKeys:
    """The keys one duplicate lookup asks for (see ``Storage.find_contacts_by_keys``):
    phones (E.164), e-mail addresses and CRM ids, in the order given."""

    phones: tuple[str, ...] = field(default=(), converter=to_tuple)
    emails: tuple[str, ...] = field(default=(), converter=to_tuple)
    crm_ids: tuple[str, ...] = field(default=(), converter=to_tuple)


@frozen
class ContactQuery:
    """A condition to find contacts: every given part must hold."""

    list_id: int | None = None
    phone: str | None = field(default=None, repr=masked_repr)
    email: str | None = None
    name_contains: str | None = None
    tags: tuple[str, ...] = field(default=(), converter=to_tuple)
    status: ProcessingStatus | None = None
    owner: str | None = None
    unassigned: bool = False
    crm_id: str | None = None

    def evolve(self, **changes: Any) -> ContactQuery:
        """A copy with some parts changed."""
        return attrs.evolve(self, **changes)


#: ContactUpdate fields copied to the contact when given (not None).
_UPDATED_AS_IS = ("email", "name", "description", "gender", "crm_id", "plan_id")


def apply_update(
    contact: Contact, update: ContactUpdate, now: datetime, *, position: int | None = None
) -> Contact:
    """``contact`` after ``update`` at ``now`` (the rule every storage backend applies).

    Tags are added in order without repeats, fields merged, ``clear_owner`` applied
    before ``owner``; a processing status other than unprocessed stamps
    ``processed_at``. A move to another list needs the contact's new ``position``
    there, which the backend allocates.
    """
    changes: dict[str, Any] = {
        name: getattr(update, name) for name in _UPDATED_AS_IS if getattr(update, name) is not None
    }
    if update.add_tags:
        changes["tags"] = contact.tags + tuple(
            dict.fromkeys(t for t in update.add_tags if t not in contact.tags)
        )
    if update.fields:
        changes["fields"] = {**contact.fields, **update.fields}
    if update.clear_owner:
        changes.update(owner=None, assigned_at=None)
    if update.owner is not None:
        changes.update(owner=update.owner, assigned_at=now)
    if update.status is not None:
        done = update.status is not ProcessingStatus.unprocessed
        changes.update(status=update.status, processed_at=now if done else None)
    if update.callback_at is not None:
        changes["callback_at"] = update.callback_at
    if update.callback_agent is not None:
        changes["callback_agent"] = update.callback_agent
    if update.move_to_list is not None and update.move_to_list != contact.list_id:
        if position is None:
            raise ValueError("a move to another list needs the new position")
        changes.update(list_id=update.move_to_list, position=position)
    return attrs.evolve(contact, **changes)
