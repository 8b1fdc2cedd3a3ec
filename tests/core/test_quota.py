"""Viettel quota, Decree 91 rolling cap and the campaign preview."""

from __future__ import annotations

import heapq
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.core.quota import (
    QuotaCaps,
    QuotaDecision,
    RollingCap,
    ViettelQuota,
    decide,
    plan_campaign,
    quota_keys,
    rolling_decision,
)
from massreach.errors import InvalidInput

VN = ZoneInfo("Asia/Ho_Chi_Minh")
VIETTEL = "+84961234567"
VIETTEL_2 = "+84321111111"
VIETTEL_DATA = "+84311234567"  # 031 is Viettel by phonenumbers' carrier data only
VIP = "+84971111111"
MOBIFONE = "+84901234567"
POLISH = "+48601234567"
POOL = [VIETTEL, VIETTEL_2, VIETTEL_DATA, VIP, MOBIFONE, POLISH]
QUOTA = ViettelQuota(vip_numbers=frozenset({VIP}))


# -- examples ----------------------------------------------------------------------


def test_caps_for_normal_vip_and_other_networks() -> None:
    assert QUOTA.caps_for(VIETTEL) == QuotaCaps(2, 8)
    assert QUOTA.caps_for(VIETTEL_DATA) == QuotaCaps(2, 8)
    assert QUOTA.caps_for(VIP) == QuotaCaps(1, 5)
    assert QUOTA.caps_for(MOBIFONE) is None
    assert QUOTA.caps_for(POLISH) is None
    assert not QUOTA.applies_to(MOBIFONE)
    assert QUOTA.decide(MOBIFONE, 100, 100, datetime(2026, 1, 1, tzinfo=UTC)).allowed


def test_quota_config_validation() -> None:
    with pytest.raises(InvalidInput) as err:
        ViettelQuota(timezone="Nowhere/City")
    assert err.value.code == "time.unknown_timezone"
    with pytest.raises(InvalidInput) as err:
        ViettelQuota(vip_numbers=VIP)
    assert err.value.code == "quota.bad_vip_numbers"
    with pytest.raises(ValueError):
        QuotaCaps(-1, 5)
    assert ViettelQuota(vip_numbers=[VIP]).vip_numbers == frozenset({VIP})


def test_quota_keys_are_local() -> None:
    # 17:30 UTC on the 22nd is 00:30 on the 23rd in Vietnam
    at = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)
    assert quota_keys(VIETTEL, at, "Asia/Ho_Chi_Minh") == ("2026-11-23", "2026-11")
    assert quota_keys(VIETTEL, at, "UTC") == ("2026-11-22", "2026-11")
    assert QUOTA.keys(VIETTEL, datetime(2026, 12, 31, 17, tzinfo=UTC)) == ("2027-01-01", "2027-01")
    with pytest.raises(InvalidInput) as err:
        quota_keys(VIETTEL, datetime(2026, 1, 1), "UTC")
    assert err.value.code == "time.naive_datetime"


def test_decide_day_and_month_caps() -> None:
    caps = QuotaCaps(2, 8)
    at = datetime(2026, 11, 23, 15, 0, tzinfo=VN)
    assert decide(caps, 1, 7, at, VN) == QuotaDecision(True)
    day = decide(caps, 2, 5, at, VN)
    assert not day.allowed and day.reason == "quota.day_cap"
    assert day.next_possible == datetime(2026, 11, 24, tzinfo=VN)
    month = decide(caps, 0, 8, at, VN)
    assert month.reason == "quota.month_cap"
    assert month.next_possible == datetime(2026, 12, 1, tzinfo=VN)
    # both full: the month wins, the day alone would be too early
    assert decide(caps, 2, 8, at, VN).next_possible == datetime(2026, 12, 1, tzinfo=VN)
    december = datetime(2026, 12, 31, 23, 59, tzinfo=VN)
    assert decide(caps, 0, 8, december, "Asia/Ho_Chi_Minh").next_possible == datetime(
        2027, 1, 1, tzinfo=VN
    )
    # the last day of a month: the next midnight is also the next month
    assert decide(caps, 2, 3, december, VN).next_possible == datetime(2027, 1, 1, tzinfo=VN)


def test_decide_zero_caps_and_bad_counts() -> None:
    at = datetime(2026, 11, 23, tzinfo=UTC)
    never = decide(QuotaCaps(0, 5), 0, 0, at, VN)
    assert never == QuotaDecision(False, None, "quota.cap_zero")
    with pytest.raises(InvalidInput) as err:
        decide(QuotaCaps(2, 8), -1, 0, at, VN)
    assert err.value.code == "quota.negative_count"
    with pytest.raises(InvalidInput):
        QuotaDecision(True, at, "x")


def test_next_local_midnight_in_a_dst_zone() -> None:
    # Havana skips 2026-03-08 00:00 (-> 01:00): the next day starts at 01:00 local
    havana = ZoneInfo("America/Havana")
    held = decide(QuotaCaps(1, 8), 1, 1, datetime(2026, 3, 7, 20, tzinfo=havana), havana)
    assert held.next_possible is not None
    local = held.next_possible.astimezone(havana)
    assert (local.date(), local.hour) == (date(2026, 3, 8), 1)


def test_rolling_cap() -> None:
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    hours = [timedelta(hours=h) for h in (1, 5, 23)]
    assert rolling_decision([at - h for h in hours[:2]], at).allowed
    held = rolling_decision([at - h for h in hours] + [at - timedelta(hours=30)], at)
    assert held.reason == "quota.rolling_cap"
    assert held.next_possible == at - timedelta(hours=23) + timedelta(hours=24)
    # a message exactly one window old has left it
    assert rolling_decision([at - timedelta(hours=24)] * 5, at).allowed
    five = [at - timedelta(minutes=m) for m in (10, 20, 30, 40, 50)]
    held = rolling_decision(five, at, RollingCap(max_messages=3))
    assert held.next_possible == at - timedelta(minutes=30) + timedelta(hours=24)
    with pytest.raises(InvalidInput) as err:
        RollingCap(window=timedelta(0))
    assert err.value.code == "quota.bad_window"


def test_rolling_cap_across_a_dst_change() -> None:
    # Warsaw falls back on 2026-10-25: 24 real hours before 12:00 CET is 13:00 CEST
    waw = ZoneInfo("Europe/Warsaw")
    at = datetime(2026, 10, 25, 12, 0, tzinfo=waw)
    # 12:30 CEST the day before is 24.5 real hours earlier (23.5 on the wall clock)
    assert rolling_decision([datetime(2026, 10, 24, 12, 30, tzinfo=waw)] * 3, at).allowed
    # 13:30 CEST is 23.5 real hours earlier: held until 24 real hours after it
    held = rolling_decision([datetime(2026, 10, 24, 13, 30, tzinfo=waw)] * 3, at)
    assert not held.allowed
    assert held.next_possible == datetime(2026, 10, 25, 11, 30, tzinfo=UTC)


def test_plan_campaign_example() -> None:
    start = datetime(2026, 11, 23, 9, tzinfo=VN)
    plan = plan_campaign(
        [
            (VIETTEL, 0, 0),  # passes now
            (VIETTEL_2, 2, 4),  # day full: tomorrow
            (VIP, 0, 5),  # month full: 1 December
            (MOBIFONE, 50, 50),  # not limited
            (VIETTEL, 0, 0),  # second message to the same number: still today (cap 2)
            (VIETTEL, 0, 0),  # third: tomorrow
        ],
        QUOTA.caps_for,
        start,
        QUOTA.timezone,
    )
    assert plan.total == 6
    assert plan.now == 3
    assert plan.by_day == ((date(2026, 11, 24), 2), (date(2026, 12, 1), 1))
    assert plan.held == 3
    assert plan.never == 0


# -- properties ----------------------------------------------------------------------

QUOTA_ZONES = ["Asia/Ho_Chi_Minh", "Europe/Warsaw", "America/Havana", "America/Santiago"]
starts = st.one_of(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(
        [
            datetime(2026, 11, 30, 16, 0, tzinfo=UTC),  # late on a month's last day in Vietnam
            datetime(2026, 3, 7, 20, 0, tzinfo=UTC),  # before Havana's midnight gap
            datetime(2026, 4, 4, 20, 0, tzinfo=UTC),  # before Santiago repeats an hour at midnight
            datetime(2026, 10, 24, 22, 0, tzinfo=UTC),  # before Warsaw falls back
        ]
    ),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(min_value=1, max_value=4 * 24 * 60)),
        st.tuples(st.just("campaign"), st.lists(st.sampled_from(POOL), max_size=8)),
    ),
    max_size=40,
)


@given(starts, steps, st.sampled_from(QUOTA_ZONES))
def test_simulated_campaigns_never_exceed_caps(
    start: datetime, plan: list[tuple[str, object]], tz: str
) -> None:
    quota = ViettelQuota(vip_numbers=frozenset({VIP}), timezone=tz)
    zone = ZoneInfo(tz)
    day_used: Counter[tuple[str, str]] = Counter()
    month_used: Counter[tuple[str, str]] = Counter()
    pending: list[tuple[datetime, int, str]] = []
    sent: list[tuple[str, datetime]] = []
    now = start
    seq = 0

    def attempt(phone: str) -> None:
        nonlocal seq
        if not quota.applies_to(phone):
            assert quota.caps_for(phone) is None
            assert quota.decide(phone, 99, 99, now).allowed
            sent.append((phone, now))
            return
        day_key, month_key = quota.keys(phone, now)
        decision = quota.decide(phone, day_used[phone, day_key], month_used[phone, month_key], now)
        if decision.allowed:
            day_used[phone, day_key] += 1
            month_used[phone, month_key] += 1
            sent.append((phone, now))
            return
        assert decision.next_possible is not None
        assert decision.next_possible > now
        later_day, later_month = quota.keys(phone, decision.next_possible)
        if decision.reason == "quota.month_cap":
            assert later_month != month_key
        else:
            assert decision.reason == "quota.day_cap"
            assert later_day != day_key
        seq += 1
        heapq.heappush(pending, (decision.next_possible, seq, phone))

    for kind, arg in plan:
        if kind == "tick":
            assert isinstance(arg, int)
            now += timedelta(minutes=arg)
            while pending and pending[0][0] <= now:
                _, _, phone = heapq.heappop(pending)
                attempt(phone)
        else:
            assert isinstance(arg, list)
            for phone in arg:
                attempt(phone)

    per_day = Counter((p, t.astimezone(zone).date()) for p, t in sent)
    per_month = Counter((p, t.astimezone(zone).strftime("%Y-%m")) for p, t in sent)
    for (phone, _), n in per_day.items():
        caps = quota.caps_for(phone)
        assert caps is None or n <= caps.per_day
    for (phone, _), n in per_month.items():
        caps = quota.caps_for(phone)
        assert caps is None or n <= caps.per_month
    # non-Viettel numbers are never held
    assert not any(quota.caps_for(phone) is None for _, _, phone in pending)


recipients = st.lists(
    st.tuples(
        st.sampled_from(POOL),
        st.integers(min_value=0, max_value=3),
        st.integers(min_value=0, max_value=9),
    ).map(lambda r: (r[0], min(r[1], r[2]), r[2])),
    max_size=30,
)


@given(recipients, starts, st.sampled_from(QUOTA_ZONES), st.sampled_from([0, 1, 2]))
def test_plan_matches_an_event_simulation(
    rows: list[tuple[str, int, int]], start: datetime, tz: str, vip_day: int
) -> None:
    quota = ViettelQuota(vip=QuotaCaps(vip_day, 5), vip_numbers=frozenset({VIP}), timezone=tz)
    # the counters given for a number are those of its first row
    first: dict[str, tuple[int, int]] = {}
    for phone, today, month in rows:
        first.setdefault(phone, (today, month))
    rows = [(phone, *first[phone]) for phone, _, _ in rows]
    plan = plan_campaign(rows, quota.caps_for, start, tz)

    zone = ZoneInfo(tz)
    day_used: Counter[tuple[str, str]] = Counter()
    month_used: Counter[tuple[str, str]] = Counter()
    for phone, (today, month) in first.items():
        day_key, month_key = quota.keys(phone, start)
        day_used[phone, day_key], month_used[phone, month_key] = today, month
    queue = [(start, i, phone) for i, (phone, _, _) in enumerate(rows)]
    heapq.heapify(queue)
    now_count, never, days = 0, 0, Counter[date]()
    while queue:
        at, i, phone = heapq.heappop(queue)
        day_key, month_key = quota.keys(phone, at)
        decision = quota.decide(phone, day_used[phone, day_key], month_used[phone, month_key], at)
        if decision.allowed:
            day_used[phone, day_key] += 1
            month_used[phone, month_key] += 1
            if at == start:
                now_count += 1
            else:
                days[at.astimezone(zone).date()] += 1
        elif decision.next_possible is None:
            never += 1
        else:
            heapq.heappush(queue, (decision.next_possible, i, phone))

    assert plan.total == len(rows)
    assert plan.now == now_count
    assert plan.never == never
    assert plan.by_day == tuple(sorted(days.items()))
    assert plan.now + plan.never + sum(n for _, n in plan.by_day) == plan.total
    assert all(day > start.astimezone(zone).date() for day, _ in plan.by_day)


@given(
    st.lists(st.integers(min_value=0, max_value=36 * 60), max_size=40),
    st.integers(min_value=1, max_value=4),
)
def test_rolling_cap_never_exceeded(gaps: list[int], max_messages: int) -> None:
    cap = RollingCap(max_messages=max_messages)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    sent: list[datetime] = []
    for gap in gaps:
        now += timedelta(minutes=gap)
        decision = rolling_decision(sent, now, cap)
        if decision.allowed:
            sent.append(now)
            continue
        assert decision.next_possible is not None
        assert decision.next_possible > now
        assert rolling_decision(sent, decision.next_possible, cap).allowed
        assert not rolling_decision(
            sent, decision.next_possible - timedelta(seconds=1), cap
        ).allowed
    for t in sent:
        in_window = [s for s in sent if t - cap.window < s <= t]
        assert len(in_window) <= max_messages
