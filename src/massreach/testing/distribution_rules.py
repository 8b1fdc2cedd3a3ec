"""Conformance rules for agents and distribution (part of :class:`StorageConformance`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from massreach.core.distribution import (
    CountSplit,
    EvenSplit,
    ProcessingStatus,
    Scope,
    Share,
)
from massreach.errors import InvalidInput, NotFound
from massreach.model import Agent, AgentFigures, ContactQuery, TaskStats
from massreach.storage import Storage
from massreach.testing.storage_base import StorageTestBase, add_contacts, make_list

__all__ = ["DistributionRules"]

_DAY = timedelta(days=1)


def _phone(n: int) -> str:
    return f"+8490300{n:04d}"


def _seed(storage: Storage, now: datetime, *rows: dict[str, Any]) -> tuple[int, list[int]]:
    """A list ``task`` with one contact per row (phones given in order)."""
    task = make_list(storage, "task", now)
    rows_with_phones = [{"phone": _phone(i), **row} for i, row in enumerate(rows)]
    return task.id, add_contacts(storage, task.id, now, *rows_with_phones)


def _owners(storage: Storage, ids: Sequence[int]) -> list[str | None]:
    owners = []
    for contact_id in ids:
        contact = storage.get_contact(contact_id)
        assert contact is not None
        owners.append(contact.owner)
    return owners


class _Recording:
    """A share planner that remembers the count it was asked for."""

    def __init__(self, planner: Callable[[int], Sequence[Share]]) -> None:
        self.planner = planner
        self.asked: list[int] = []

    def __call__(self, count: int) -> Sequence[Share]:
        self.asked.append(count)
        return self.planner(count)


class DistributionRules(StorageTestBase):
    """Records go to agents exactly as the shares say; worked records stay put."""

    def test_agents(self, storage: Storage) -> None:
        """save_agent adds or replaces; agents() by id; active_only filters."""
        storage.save_agent(Agent("6002", name="Binh"))
        storage.save_agent(Agent("6001", name="An", weight=2.0, capacity=50))
        storage.save_agent(Agent("6002", name="Binh T.", active=False))
        assert [a.id for a in storage.agents()] == ["6001", "6002"]
        assert storage.get_agent("6002") == Agent("6002", name="Binh T.", active=False)
        assert storage.get_agent("6001") == Agent("6001", name="An", weight=2.0, capacity=50)
        assert [a.id for a in storage.agents(active_only=True)] == ["6001"]
        assert storage.get_agent("7000") is None

    def test_unassigned_scope_even_in_position_order(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """Scope ``unassigned`` takes records without owner; shares apply exactly, the
        first records in import order going to the first agent."""
        task, ids = _seed(storage, clock_start, {}, {"owner": "6009"}, {}, {}, {}, {})
        planner = _Recording(EvenSplit(("6001", "6002")))
        shares = storage.distribute(
            task, scope=Scope.unassigned, planner=planner, order="position", now=clock_start
        )
        assert planner.asked == [5]
        assert tuple(shares) == (Share("6001", 3), Share("6002", 2))
        assert _owners(storage, ids) == ["6001", "6009", "6001", "6001", "6002", "6002"]
        contact = storage.get_contact(ids[0])
        assert contact is not None and contact.assigned_at == clock_start

    def test_priority_order(self, storage: Storage, clock_start: datetime) -> None:
        """Order ``priority``: highest first, records without priority last, ties by
        import position."""
        task, ids = _seed(
            storage,
            clock_start,
            {"priority": None},
            {"priority": 1},
            {"priority": 5},
            {"priority": 5},
            {"priority": None},
            {"priority": 3},
        )
        storage.distribute(
            task,
            scope=Scope.unassigned,
            planner=CountSplit((("6001", 2), ("6002", 2), ("6003", 2))),
            order="priority",
            now=clock_start,
        )
        assert _owners(storage, ids) == ["6003", "6002", "6001", "6001", "6003", "6002"]

    def test_unprocessed_scope_takes_back_only_unworked(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """Scope ``unprocessed`` reassigns records not worked yet, owned or not; worked
        records are never taken back."""
        task, ids = _seed(
            storage,
            clock_start,
            {"owner": "6001"},
            {"owner": "6001", "status": ProcessingStatus.succeeded},
            {},
            {"owner": "6002", "status": ProcessingStatus.follow_up},
            {"owner": "6002"},
        )
        planner = _Recording(EvenSplit(("6003",)))
        storage.distribute(
            task, scope=Scope.unprocessed, planner=planner, order="position", now=clock_start
        )
        assert planner.asked == [3]
        assert _owners(storage, ids) == ["6003", "6001", "6003", "6002", "6003"]
        worked = storage.get_contact(ids[1])
        assert worked is not None and worked.status is ProcessingStatus.succeeded

    def test_pinned_callbacks_wait_for_their_date(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """A pinned callback is in no scope before its date, an ordinary record after."""
        due = clock_start + _DAY
        task, ids = _seed(
            storage,
            clock_start,
            {"owner": "6001", "callback_at": due, "callback_agent": "6001"},
            {"callback_at": due, "callback_agent": "6001"},
            {},
        )
        for scope in (Scope.unassigned, Scope.unprocessed):
            planner = _Recording(EvenSplit(("6002",)))
            storage.distribute(
                task, scope=scope, planner=planner, order="position", now=due - timedelta(seconds=1)
            )
            assert planner.asked == [1]
        assert _owners(storage, ids) == ["6001", None, "6002"]
        storage.distribute(
            task, scope=Scope.unprocessed, planner=EvenSplit(("6003",)), order="position", now=due
        )
        assert _owners(storage, ids) == ["6003", "6003", "6003"]

    def test_records_beyond_the_shares_keep_their_owner(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """Shares asking for fewer records than in scope leave the rest as they are."""
        task, ids = _seed(storage, clock_start, {"owner": "6001"}, {"owner": "6001"}, {})
        storage.distribute(
            task,
            scope=Scope.unprocessed,
            planner=CountSplit((("6002", 1),)),
            order="position",
            now=clock_start,
        )
        assert _owners(storage, ids) == ["6002", "6001", None]

    def test_shares_asking_too_much_change_nothing(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """A planner asking for more records than are in scope: InvalidInput, no change."""
        task, ids = _seed(storage, clock_start, {}, {})
        with pytest.raises(InvalidInput):
            storage.distribute(
                task,
                scope=Scope.unassigned,
                planner=lambda n: (Share("6001", 1), Share("6002", n)),
                order="position",
                now=clock_start,
            )
        assert _owners(storage, ids) == [None, None]
        with pytest.raises(InvalidInput):
            storage.distribute(
                task,
                scope=Scope.unassigned,
                planner=EvenSplit(("6001",)),
                order="alphabetical",
                now=clock_start,
            )

    def test_concurrent_distributions_never_assign_twice(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """Two distributions of one task at once (threads sharing the backend object)
        give every record to exactly one agent."""
        task, ids = _seed(storage, clock_start, *({} for _ in range(40)))
        applied: list[int] = []
        errors: list[BaseException] = []

        def run(agents: tuple[str, ...]) -> None:
            try:
                shares = storage.distribute(
                    task,
                    scope=Scope.unassigned,
                    planner=EvenSplit(agents),
                    order="position",
                    now=clock_start,
                )
                applied.append(sum(share.count for share in shares))
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [
            threading.Thread(target=run, args=(group,))
            for group in (("6001", "6002"), ("6003", "6004"))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sum(applied) == len(ids)
        assert storage.task_stats(task, now=clock_start).assigned == len(ids)

    def test_assign_matching(self, storage: Storage, clock_start: datetime) -> None:
        """Manual assignment: matching, unprocessed, not the agent's already, not pinned
        to another agent, in import order, at most ``limit``."""
        later = clock_start + _DAY
        task, ids = _seed(
            storage,
            clock_start,
            {"tags": ("hn",)},
            {"tags": ("hn",), "owner": "6002"},
            {"tags": ("hn",), "status": ProcessingStatus.succeeded},
            {"tags": ("hn",), "callback_at": later, "callback_agent": "6002"},
            {"tags": ("hn",), "callback_at": later, "callback_agent": "6001"},
            {"tags": ("sg",)},
            {"tags": ("hn",), "owner": "6001"},
        )
        query = ContactQuery(list_id=task, tags=("hn",))
        assert storage.assign_matching(query, agent="6001", limit=2, now=clock_start) == 2
        assert _owners(storage, ids[:2]) == ["6001", "6001"]
        assert storage.assign_matching(query, agent="6001", limit=None, now=clock_start) == 1
        assert _owners(storage, ids) == ["6001", "6001", None, None, "6001", None, "6001"]
        assert storage.assign_matching(query, agent="6001", limit=None, now=clock_start) == 0
        phone_query = ContactQuery(list_id=task, phone=_phone(5))
        assert storage.assign_matching(phone_query, agent="6003", limit=5, now=clock_start) == 1
        contact = storage.get_contact(ids[5])
        assert contact is not None
        assert (contact.owner, contact.assigned_at) == ("6003", clock_start)

    def test_mark_processed(self, storage: Storage, clock_start: datetime) -> None:
        """mark_processed sets the status and processed_at; NotFound for no contact."""
        _task, ids = _seed(storage, clock_start, {"owner": "6001"})
        later = clock_start + timedelta(minutes=5)
        done = storage.mark_processed(ids[0], status=ProcessingStatus.succeeded, now=later)
        assert (done.status, done.processed_at, done.owner) == (
            ProcessingStatus.succeeded,
            later,
            "6001",
        )
        assert storage.get_contact(ids[0]) == done
        again = storage.mark_processed(ids[0], status=ProcessingStatus.unprocessed, now=later)
        assert again.processed_at is None
        with pytest.raises(NotFound):
            storage.mark_processed(ids[0] + 1000, status=ProcessingStatus.failed, now=later)

    def test_task_stats(self, storage: Storage, clock_start: datetime) -> None:
        """total, completed, assigned + unassigned == total, per agent by id."""
        task, _ = _seed(
            storage,
            clock_start,
            {"owner": "6002", "status": ProcessingStatus.failed},
            {"owner": "6001"},
            {"owner": "6001", "status": ProcessingStatus.succeeded},
            {},
            {"status": ProcessingStatus.follow_up},
        )
        other = make_list(storage, "other", clock_start)
        add_contacts(storage, other.id, clock_start, {"phone": _phone(0), "owner": "6001"})
        assert storage.task_stats(task, now=clock_start) == TaskStats(
            total=5,
            completed=3,
            assigned=3,
            unassigned=2,
            agents=(AgentFigures("6001", 2, 1), AgentFigures("6002", 1, 1)),
        )
        empty = make_list(storage, "empty", clock_start)
        assert storage.task_stats(empty.id, now=clock_start) == TaskStats(0, 0, 0, 0)
