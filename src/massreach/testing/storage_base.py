"""The fixture contract of the storage conformance suite, and small builders it uses.

A backend's test class subclasses :class:`~massreach.testing.StorageConformance`
and overrides one fixture, ``storage``, which yields a fresh, EMPTY backend (and
closes it afterwards). ``clock_start`` is the time the tests start from; every
other time is computed from it, so nothing ever sleeps. The suite relies on the
:class:`~massreach.storage.Storage` protocol only, never on a backend's insides.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from massreach.core.lifecycle import CampaignKind, CampaignState
from massreach.model import (
    Campaign,
    CampaignSource,
    Contact,
    ContactDraft,
    ContactList,
    ContactQuery,
    ImportOptions,
    ImportPlan,
)
from massreach.model.contacts import ListFeed
from massreach.storage import Storage

__all__ = [
    "CLOCK_START",
    "StorageTestBase",
    "add_contacts",
    "by_phone",
    "make_campaign",
    "make_list",
    "make_plan",
    "phones_of",
]

#: The default ``clock_start``: a Monday morning early in the month, in UTC.
CLOCK_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

#: One minute and one hour, for readable time arithmetic in the tests.
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


class StorageTestBase:
    """Fixtures every conformance test uses; a backend overrides ``storage``.

    .. code-block:: python

        class TestMyStorage(StorageConformance):
            @pytest.fixture
            def storage(self, tmp_path):
                backend = MyStorage(tmp_path / "db")
                yield backend
                backend.close()
    """

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        """A fresh, empty backend. Override this fixture in your subclass."""
        raise NotImplementedError(
            "Override the 'storage' fixture: yield a fresh, empty backend, then close it."
        )
        yield  # pragma: no cover  (makes this a generator fixture, like the overrides)

    @pytest.fixture
    def clock_start(self) -> datetime:
        """The time the tests start from (timezone-aware)."""
        return CLOCK_START

    @pytest.fixture
    def decides_ahead(self) -> bool | None:
        """Whether the backend calls ``decide_next`` of ``apply_import_batch`` for a
        batch that only inserts (None, the default: either way is correct).
        Override it to have the suite check that it does, or that it does not."""
        return None


def make_list(
    storage: Storage, name: str, now: datetime, *, feed: ListFeed = ListFeed.csv
) -> ContactList:
    """Create a list named ``name``."""
    return storage.create_list(name, feed=feed, created_by="tester", now=now)


def add_contacts(storage: Storage, list_id: int, now: datetime, *rows: dict[str, Any]) -> list[int]:
    """Add one contact per ``rows`` item (ContactDraft keyword arguments) to a list."""
    drafts = [ContactDraft(list_id=list_id, **row) for row in rows]
    return storage.add_contacts(drafts, now=now)


def phones_of(contacts: Sequence[Contact]) -> list[str | None]:
    """The phones of ``contacts``, in their order."""
    return [contact.phone for contact in contacts]


def by_phone(storage: Storage, list_id: int) -> dict[str, Contact]:
    """A list's contacts keyed by phone."""
    found = storage.find_contacts(ContactQuery(list_id=list_id))
    return {c.phone: c for c in found if c.phone is not None}


def make_plan(list_id: int, now: datetime, **changes: Any) -> ImportPlan:
    """A pending import plan of ``customers.csv`` into ``list_id`` (id not yet given)."""
    values: dict[str, Any] = {
        "id": 0,
        "list_id": list_id,
        "file_name": "customers.csv",
        "options": ImportOptions(tags=("vip",), mapping=(("Phone", "phone"),)),
        "run_at": now,
        "created_at": now,
        "creator": "tester",
    }
    values.update(changes)
    return ImportPlan(**values)


def make_campaign(
    storage: Storage,
    name: str,
    *,
    list_id: int | None,
    tags: Sequence[str] = (),
    channel: str = "sms",
    state: CampaignState = CampaignState.draft,
    scheduled_at: datetime | None = None,
    now: datetime | None = None,
) -> Campaign:
    """Create and store a campaign over a list (or the whole contacts table)."""
    return storage.create_campaign(
        Campaign(
            id=0,
            name=name,
            channel="email" if channel == "email" else "sms",
            kind=CampaignKind.care,
            template="greeting",
            source=CampaignSource(list_id=list_id, tags=tuple(tags)),
            state=state,
            scheduled_at=scheduled_at,
            created_by="tester",
            created_at=now,
        )
    )
