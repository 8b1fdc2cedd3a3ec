"""Distribution through the service and storage (memory and SQLite): the core's
properties hold on stored data, plus agents, scheduling, manual assignment, stats."""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massreach import ContactQuery, InvalidInput, NotFound, ProcessingStatus, Reach, Scope
from massreach.core.distribution import EvenSplit, RecordState, distribute, in_scope
from massreach.model import ContactDraft
from massreach.model.contacts import ListFeed
from massreach.services.distribution import DistributionRequest

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _engine(kind: str, folder: Path, clock: Clock) -> Reach:
    url = "memory:" if kind == "memory" else f"sqlite:///{folder / 'd.db'}"
    return Reach(url, autoload=False, env={}, clock=clock)


def _fill(reach: Reach, count: int, name: str = "task") -> int:
    target = reach.storage.create_list(name, feed=ListFeed.csv, created_by=None, now=NOW)
    drafts = [
        ContactDraft(target.id, phone=f"+8491{i:07d}", name=f"N{i}", tags=("t",))
        for i in range(count)
    ]
    reach.storage.add_contacts(drafts, now=NOW)
    return target.id


@pytest.fixture(params=["memory", "sqlite"])
def reach(request: pytest.FixtureRequest, tmp_path: Path):
    clock = Clock()
    with _engine(request.param, tmp_path, clock) as engine:
        engine.test_clock = clock  # type: ignore[attr-defined]
        for agent in ("6001", "6002", "6003"):
            engine.distribution.add_agent(agent, weight={"6001": 1, "6002": 2, "6003": 3}[agent])
        yield engine


def test_even_split_and_stats(reach: Reach) -> None:
    _fill(reach, 10)
    result = reach.distribution.distribute(
        DistributionRequest("task", "even", agents=("6001", "6002", "6003"))
    )
    assert [(s.agent, s.count) for s in result.shares] == [("6001", 4), ("6002", 3), ("6003", 3)]
    stats = reach.distribution.stats("task")
    assert (stats.total, stats.assigned, stats.unassigned, stats.completed) == (10, 10, 0, 0)
    # in import order: the first four records go to 6001
    first = reach.storage.find_contacts(ContactQuery(), limit=4)
    assert {c.owner for c in first} == {"6001"}


def test_counts_weighted_and_errors(reach: Reach) -> None:
    _fill(reach, 12)
    with pytest.raises(InvalidInput) as info:
        reach.distribution.distribute(
            DistributionRequest("task", "counts", counts=(("6001", 10), ("6002", 5)))
        )
    assert info.value.code == "distribution.not_enough_records"
    assert reach.distribution.stats("task").assigned == 0
    partial = reach.distribution.distribute(
        DistributionRequest(
            "task", "counts", counts=(("6001", 10), ("6002", 5)), allow_partial=True
        )
    )
    assert [s.count for s in partial.shares] == [10, 2]
    weighted = reach.distribution.distribute(
        DistributionRequest(
            "task", "weighted", agents=("6001", "6002", "6003"), scope=Scope.unprocessed
        )
    )
    assert [s.count for s in weighted.shares] == [2, 4, 6]


def test_unknown_and_inactive_agents_are_refused(reach: Reach) -> None:
    _fill(reach, 3)
    with pytest.raises(NotFound):
        reach.distribution.distribute(DistributionRequest("task", "even", agents=("9999",)))
    reach.distribution.deactivate_agent("6003")
    with pytest.raises(InvalidInput) as info:
        reach.distribution.distribute(DistributionRequest("task", "even", agents=("6003",)))
    assert info.value.code == "agent.inactive"
    result = reach.distribution.distribute(DistributionRequest("task", "even"))
    assert [s.agent for s in result.shares] == ["6001", "6002"]


def test_reclaim_unprocessed_keeps_worked_records_and_pinned_callbacks(reach: Reach) -> None:
    list_id = _fill(reach, 6)
    reach.distribution.distribute(DistributionRequest("task", "even", agents=("6001",)))
    contacts = reach.storage.find_contacts(ContactQuery(list_id=list_id))
    reach.distribution.mark(contacts[0].id, ProcessingStatus.succeeded)
    reach.distribution.mark(contacts[1].id, ProcessingStatus.follow_up)
    pinned_at = NOW + timedelta(days=1)
    target = reach.storage.get_list("task")
    assert target is not None
    reach.storage.add_contacts(
        [
            ContactDraft(
                list_id,
                phone="+84987654321",
                owner="6001",
                callback_at=pinned_at,
                callback_agent="6001",
            )
        ],
        now=NOW,
    )
    result = reach.distribution.distribute(
        DistributionRequest("task", "even", agents=("6002", "6003"), scope=Scope.unprocessed)
    )
    assert result.assigned == 4
    owners = {c.phone: c.owner for c in reach.storage.find_contacts(ContactQuery(list_id=list_id))}
    assert owners[contacts[0].phone] == "6001" and owners[contacts[1].phone] == "6001"
    assert owners["+84987654321"] == "6001"
    stats = reach.distribution.stats("task")
    per_agent = {a.agent: (a.assigned, a.worked, a.remaining) for a in stats.agents}
    assert per_agent["6001"] == (3, 2, 1)
    # after its date, the pinned record is an ordinary unprocessed record
    reach.test_clock.now = pinned_at + timedelta(minutes=1)  # type: ignore[attr-defined]
    again = reach.distribution.distribute(
        DistributionRequest("task", "even", agents=("6003",), scope=Scope.unprocessed)
    )
    assert again.assigned == 5


def test_scheduled_distribution_runs_when_due(reach: Reach) -> None:
    _fill(reach, 4)
    job = reach.distribution.schedule(
        DistributionRequest("task", "even", agents=("6001", "6002")), at=NOW + timedelta(hours=1)
    )
    assert reach.distribution.run_due() == []
    reach.test_clock.now = NOW + timedelta(hours=2)  # type: ignore[attr-defined]
    (done,) = reach.distribution.run_due()
    assert done.id == job.id and done.state.value == "done"
    assert done.result == {"shares": [["6001", 2], ["6002", 2]]}
    assert reach.distribution.run_due() == []


def test_manual_assignment_by_condition(reach: Reach) -> None:
    _fill(reach, 5)
    assert (
        reach.distribution.assign(
            "task", agent="6002", query=ContactQuery(phone="+84910000003"), limit=None
        )
        == 1
    )
    assert (
        reach.distribution.assign(
            "task", agent="6003", query=ContactQuery(name_contains="N"), limit=2
        )
        == 2
    )
    stats = reach.distribution.stats("task")
    assert {a.agent: a.assigned for a in stats.agents} == {"6002": 1, "6003": 2}


record_states = st.lists(
    st.tuples(
        st.sampled_from([None, "6001", "6002"]),
        st.sampled_from(list(ProcessingStatus)),
        st.sampled_from([None, -2, 3]),  # callback in hours from now
    ),
    max_size=25,
)
modes = st.sampled_from(["even", "weighted", "counts"])


@settings(max_examples=25)
@given(
    states=record_states,
    mode=modes,
    scope=st.sampled_from(list(Scope)),
    kind=st.sampled_from(["memory", "sqlite"]),
)
def test_storage_distribution_matches_the_core(states, mode, scope, kind) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as folder, _engine(kind, Path(folder), Clock()) as reach:
        for agent, weight in (("a", 1), ("b", 2), ("c", 4)):
            reach.distribution.add_agent(agent, weight=weight)
        target = reach.storage.create_list("task", feed=ListFeed.csv, created_by=None, now=NOW)
        drafts = [
            ContactDraft(
                target.id,
                phone=f"+8491{i:07d}",
                owner=owner if hours is None else (owner or "6001"),
                status=status,
                callback_at=None if hours is None else NOW + timedelta(hours=hours),
                callback_agent=None if hours is None else (owner or "6001"),
            )
            for i, (owner, status, hours) in enumerate(states)
        ]
        ids = reach.storage.add_contacts(drafts, now=NOW)
        before = [
            RecordState(
                id=cid,
                owner=d.owner,
                status=d.status,
                callback_at=d.callback_at,
                callback_agent=d.callback_agent,
            )
            for cid, d in zip(ids, drafts, strict=True)
        ]
        scoped = sum(1 for r in before if in_scope(r, scope, NOW))
        if mode == "counts":
            request = DistributionRequest(
                "task",
                "counts",
                counts=(("a", scoped // 2), ("b", scoped - scoped // 2)),
                scope=scope,
            )
        else:
            request = DistributionRequest("task", mode, agents=("a", "b", "c"), scope=scope)  # type: ignore[arg-type]
        planner = reach.distribution._planner(request)
        expected = distribute(before, scope, planner, NOW)
        result = reach.distribution.distribute(request)
        after = {c.id: c.owner for c in reach.storage.find_contacts(ContactQuery())}
        # no record lost or given twice; out-of-scope records untouched; same as the core
        assert len(after) == len(before)
        for record in before:
            if record.id in expected:
                assert after[record.id] == expected[record.id]
            elif not in_scope(record, scope, NOW):
                assert after[record.id] == record.owner
        given_out = Counter(after[i] for i in expected)
        assert {s.agent: s.count for s in result.shares if s.count} == dict(given_out)
        counts = [s.count for s in result.shares]
        if mode == "even" and counts:
            assert max(counts) - min(counts) <= 1
        if mode == "weighted":
            total = sum(counts)
            for share, weight in zip(result.shares, (1, 2, 4), strict=True):
                assert abs(share.count - Fraction(total * weight, 7)) < 1
        if mode == "counts":
            assert counts == [scoped // 2, scoped - scoped // 2]


def test_even_split_is_deterministic(tmp_path: Path) -> None:
    results = []
    for n in range(2):
        folder = tmp_path / str(n)
        folder.mkdir()
        with _engine("sqlite", folder, Clock()) as reach:
            for agent in ("a", "b"):
                reach.distribution.add_agent(agent)
            _fill(reach, 9)
            reach.distribution.distribute(DistributionRequest("task", "even", agents=("a", "b")))
            results.append(
                [(c.phone, c.owner) for c in reach.storage.find_contacts(ContactQuery())]
            )
    assert results[0] == results[1]
    assert EvenSplit(("a", "b"))(9)[0].count == 5
