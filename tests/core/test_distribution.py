"""Distribution to agents: splits, scopes, pinned callbacks and the reference model."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.core.distribution import (
    CountSplit,
    DistributionOrder,
    EvenSplit,
    ProcessingStatus,
    RecordState,
    Scope,
    Share,
    WeightedSplit,
    apply_distribution,
    assign_in_order,
    distribute,
    in_scope,
    parse_counts,
    split_by_count,
    split_even,
    split_weighted,
)
from massreach.errors import InvalidInput

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

agent_ids = st.lists(
    st.text("0123456789", min_size=1, max_size=5), min_size=1, max_size=12, unique=True
)
totals = st.integers(min_value=0, max_value=5000)


# -- examples ----------------------------------------------------------------------


def test_split_even_gives_extras_to_earlier_agents() -> None:
    assert split_even(10, ["a", "b", "c"]) == (Share("a", 4), Share("b", 3), Share("c", 3))
    assert split_even(0, ["a"]) == (Share("a", 0),)


def test_split_even_rejects_no_agents_and_duplicates() -> None:
    with pytest.raises(InvalidInput) as err:
        split_even(3, [])
    assert err.value.code == "distribution.no_agents"
    with pytest.raises(InvalidInput) as err:
        split_even(3, ["a", "a"])
    assert err.value.code == "distribution.duplicate_agent"
    with pytest.raises(InvalidInput) as err:
        split_even(-1, ["a"])
    assert err.value.code == "distribution.bad_total"


def test_split_weighted_largest_remainder() -> None:
    # exact shares 3.333, 6.667 -> floors 3, 6; the one left goes to the larger remainder
    assert split_weighted(10, [("a", 1), ("b", 2)]) == (Share("a", 3), Share("b", 7))
    # equal remainders: the earlier agent wins the tie
    assert split_weighted(1, [("a", 1.0), ("b", 1.0)]) == (Share("a", 1), Share("b", 0))


@pytest.mark.parametrize("weight", [0, -1, float("nan"), float("inf"), True])
def test_split_weighted_rejects_bad_weights(weight: float) -> None:
    with pytest.raises(InvalidInput) as err:
        split_weighted(5, [("a", 1.0), ("b", weight)])
    assert err.value.code == "distribution.bad_weight"
    assert err.value.details["agent"] == "b"


def test_split_by_count_exact_error_and_partial() -> None:
    assert split_by_count(100, [("6001", 50), ("6002", 30)], allow_partial=False) == (
        Share("6001", 50),
        Share("6002", 30),
    )
    with pytest.raises(InvalidInput) as err:
        split_by_count(60, [("6001", 50), ("6002", 30)], allow_partial=False)
    assert err.value.code == "distribution.not_enough_records"
    assert err.value.details == {"requested": 80, "available": 60}
    assert split_by_count(60, [("6001", 50), ("6002", 30), ("6003", 5)], allow_partial=True) == (
        Share("6001", 50),
        Share("6002", 10),
        Share("6003", 0),
    )
    with pytest.raises(InvalidInput) as err:
        split_by_count(60, [("6001", -1)], allow_partial=True)
    assert err.value.code == "distribution.bad_count"


def test_parse_counts() -> None:
    assert parse_counts("6001=50,6002=30") == (("6001", 50), ("6002", 30))
    assert parse_counts(" 6001 = 5 , 6002=0 ") == (("6001", 5), ("6002", 0))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "distribution.bad_counts"),
        ("6001", "distribution.bad_counts"),
        ("6001=", "distribution.bad_counts"),
        ("=5", "distribution.bad_counts"),
        ("6001=5,,6002=3", "distribution.bad_counts"),
        ("6001=5,", "distribution.bad_counts"),
        ("6001=-5", "distribution.bad_counts"),
        ("6001=2.5", "distribution.bad_counts"),
        ("6001=5=6", "distribution.bad_counts"),
        ("6001=٣", "distribution.bad_counts"),
        ("6001=5,6001=3", "distribution.duplicate_agent"),
    ],
)
def test_parse_counts_errors(text: str, code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_counts(text)
    assert err.value.code == code


def test_assign_in_order_contiguous_blocks() -> None:
    shares = (Share("a", 2), Share("b", 1))
    assert assign_in_order([10, 11, 12, 13], shares) == {10: "a", 11: "a", 12: "b"}
    with pytest.raises(InvalidInput) as err:
        assign_in_order([10, 11], shares)
    assert err.value.code == "distribution.not_enough_records"
    with pytest.raises(InvalidInput) as err:
        assign_in_order([10, 10, 11], shares)
    assert err.value.code == "distribution.duplicate_record"


def test_distribution_order_keys() -> None:
    by_position = DistributionOrder()
    rows = [(3, 1, None), (1, 2, 5), (2, 2, 9), (4, 0, 5)]  # (id, position, priority)
    assert [r[0] for r in sorted(rows, key=lambda r: by_position.key(*r))] == [4, 3, 1, 2]
    by_priority = DistributionOrder("priority")
    assert [r[0] for r in sorted(rows, key=lambda r: by_priority.key(*r))] == [2, 4, 1, 3]
    with pytest.raises(InvalidInput) as err:
        DistributionOrder("name")  # type: ignore[arg-type]
    assert err.value.code == "distribution.bad_order"


def test_scopes_and_pinned_callbacks() -> None:
    later = NOW + timedelta(days=1)
    fresh = RecordState(1, None, ProcessingStatus.unprocessed, None, None)
    held = RecordState(2, "6001", ProcessingStatus.unprocessed, None, None)
    worked = RecordState(3, "6001", ProcessingStatus.follow_up, None, None)
    pinned = RecordState(4, "6002", ProcessingStatus.unprocessed, later, "6002")
    assert in_scope(fresh, Scope.unassigned, NOW)
    assert not in_scope(held, Scope.unassigned, NOW)
    assert in_scope(held, Scope.unprocessed, NOW)
    assert not in_scope(worked, Scope.unprocessed, NOW)
    assert not in_scope(pinned, Scope.unprocessed, NOW)
    # after its date a pinned record is an ordinary unprocessed record
    assert in_scope(pinned, Scope.unprocessed, later)
    assert not in_scope(pinned, Scope.unassigned, later)
    unowned_pin = RecordState(5, None, "unprocessed", later, "6002")
    assert not in_scope(unowned_pin, Scope.unassigned, NOW)
    assert in_scope(unowned_pin, Scope.unassigned, later)


def test_record_state_needs_aware_callback() -> None:
    with pytest.raises(InvalidInput) as err:
        RecordState(1, None, "unprocessed", datetime(2026, 1, 1), None)
    assert err.value.code == "time.naive_datetime"


def test_distribute_reclaims_unworked_records() -> None:
    records = [
        RecordState(1, "old", ProcessingStatus.unprocessed, None, None),
        RecordState(2, "old", ProcessingStatus.succeeded, None, None),
        RecordState(3, None, ProcessingStatus.unprocessed, None, None),
        RecordState(4, "old", ProcessingStatus.unprocessed, NOW + timedelta(hours=1), "old"),
        RecordState(5, None, ProcessingStatus.unprocessed, None, None),
    ]
    result = distribute(records, Scope.unprocessed, EvenSplit(["a", "b"]), NOW)
    assert result == {1: "a", 3: "a", 5: "b"}
    assert distribute(records, Scope.unassigned, EvenSplit(["a", "b"]), NOW) == {3: "a", 5: "b"}
    partial = distribute(records, Scope.unprocessed, CountSplit([("a", 1)]), NOW)
    after = apply_distribution(records, Scope.unprocessed, partial, NOW)
    assert [r.owner for r in after] == ["a", "old", None, "old", None]


# -- properties ----------------------------------------------------------------------


@given(totals, agent_ids)
def test_even_split_properties(total: int, agents: list[str]) -> None:
    shares = split_even(total, agents)
    counts = [s.count for s in shares]
    assert [s.agent for s in shares] == agents
    assert sum(counts) == total
    assert max(counts) - min(counts) <= 1
    assert counts == sorted(counts, reverse=True)  # extras go to earlier agents
    assert split_even(total, agents) == shares


weights_st = agent_ids.flatmap(
    lambda agents: st.lists(
        st.one_of(
            st.integers(min_value=1, max_value=1000),
            st.floats(min_value=1e-6, max_value=1e6, allow_nan=False),
        ),
        min_size=len(agents),
        max_size=len(agents),
    ).map(lambda ws: list(zip(agents, ws, strict=True)))
)


@given(totals, weights_st)
def test_weighted_split_within_one_of_exact_share(
    total: int, weights: list[tuple[str, float]]
) -> None:
    shares = split_weighted(total, weights)
    assert sum(s.count for s in shares) == total
    whole = sum((Fraction(w) for _, w in weights), Fraction(0))
    for share, (agent, weight) in zip(shares, weights, strict=True):
        exact = total * Fraction(weight) / whole
        assert share.agent == agent
        assert abs(share.count - exact) < 1
    assert split_weighted(total, weights) == shares


@given(
    totals,
    agent_ids.flatmap(
        lambda agents: st.lists(
            st.integers(min_value=0, max_value=800), min_size=len(agents), max_size=len(agents)
        ).map(lambda ns: list(zip(agents, ns, strict=True)))
    ),
)
def test_by_count_properties(total: int, requested: list[tuple[str, int]]) -> None:
    wanted = sum(n for _, n in requested)
    partial = split_by_count(total, requested, allow_partial=True)
    assert sum(s.count for s in partial) == min(total, wanted)
    assert all(s.count <= n for s, (_, n) in zip(partial, requested, strict=True))
    if wanted <= total:
        exact = split_by_count(total, requested, allow_partial=False)
        assert [(s.agent, s.count) for s in exact] == requested
        assert exact == partial
    else:
        # in agent order: every agent before the first short one got all it asked for
        pairs = zip(partial, requested, strict=True)
        short = next(i for i, (s, (_, n)) in enumerate(pairs) if s.count < n)
        assert all(s.count == 0 for s in partial[short + 1 :])
        with pytest.raises(InvalidInput) as err:
            split_by_count(total, requested, allow_partial=False)
        assert err.value.details == {"requested": wanted, "available": total}


@given(
    agent_ids.flatmap(
        lambda agents: st.lists(
            st.integers(min_value=0, max_value=10**6), min_size=len(agents), max_size=len(agents)
        ).map(lambda ns: list(zip(agents, ns, strict=True)))
    )
)
def test_parse_counts_round_trip(pairs: list[tuple[str, int]]) -> None:
    text = ",".join(f"{a}={n}" for a, n in pairs)
    assert parse_counts(text) == tuple(pairs)


def _records() -> st.SearchStrategy[list[RecordState]]:
    offsets = st.one_of(
        st.none(), st.integers(min_value=-72, max_value=72).map(lambda h: timedelta(hours=h))
    )
    one = st.tuples(
        st.sampled_from([None, "6001", "6002", "9999"]),
        st.sampled_from(list(ProcessingStatus)),
        offsets,
        st.sampled_from([None, "6001", "6002"]),
    )
    return st.lists(one, max_size=60).map(
        lambda rows: [
            RecordState(
                i * 7 + 3,
                owner,
                status,
                None if off is None else NOW + off,
                cb_agent if off is not None else None,
            )
            for i, (owner, status, off, cb_agent) in enumerate(rows)
        ]
    )


def _splits() -> st.SearchStrategy[EvenSplit | WeightedSplit | CountSplit]:
    agents = st.lists(
        st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=5, unique=True
    )
    even = agents.map(EvenSplit)
    weighted = agents.flatmap(
        lambda ags: st.lists(
            st.floats(min_value=0.1, max_value=10), min_size=len(ags), max_size=len(ags)
        ).map(lambda ws: WeightedSplit(list(zip(ags, ws, strict=True))))
    )
    counted = agents.flatmap(
        lambda ags: st.lists(
            st.integers(min_value=0, max_value=20), min_size=len(ags), max_size=len(ags)
        ).map(lambda ns: CountSplit(list(zip(ags, ns, strict=True)), allow_partial=True))
    )
    return st.one_of(even, weighted, counted)


@given(
    _records(),
    st.sampled_from(list(Scope)),
    _splits(),
    st.integers(min_value=-100, max_value=100).map(lambda h: NOW + timedelta(hours=h)),
)
def test_distribute_reference_properties(
    records: list[RecordState],
    scope: Scope,
    split: EvenSplit | WeightedSplit | CountSplit,
    now: datetime,
) -> None:
    result = distribute(records, scope, split, now)
    scoped = [r.id for r in records if in_scope(r, scope, now)]
    shares = split(len(scoped))
    # deterministic
    assert distribute(records, scope, split, now) == result
    # only records in scope, each to exactly one agent, in contiguous blocks in order
    assert set(result) <= set(scoped)
    assert list(result) == scoped[: len(result)]
    assert Counter(result.values()) == Counter({s.agent: s.count for s in shares if s.count})
    if not isinstance(split, CountSplit):
        assert set(result) == set(scoped)  # no record in scope is lost
    after = apply_distribution(records, scope, result, now)
    for before, rec in zip(records, after, strict=True):
        assert rec.id == before.id and rec.status == before.status
        if before.status is not ProcessingStatus.unprocessed and before.owner is not None:
            assert rec.owner == before.owner  # worked records are never reclaimed
        if before.callback_at is not None and now < before.callback_at:
            assert rec == before  # pinned callbacks stay put before their date
        if before.id not in scoped:
            assert rec == before
        else:
            assert rec.owner == result.get(before.id)
