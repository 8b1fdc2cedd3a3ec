"""Send windows: parsing, open/closed, next opening, daylight-saving zones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.core.send_window import (
    DECREE_91_WINDOW,
    SendWindow,
    first_at_or_after,
    parse_window,
    zone_for,
)
from massreach.errors import InvalidInput

VN = ZoneInfo("Asia/Ho_Chi_Minh")
WAW = ZoneInfo("Europe/Warsaw")
ZONES = [
    "Asia/Ho_Chi_Minh",
    "Europe/Warsaw",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Havana",  # DST changes at midnight
    "Pacific/Apia",  # skipped a whole day in 2011
    "UTC",
]


def test_parse_window_forms() -> None:
    w = parse_window("07:00-22:00")
    assert (w.start, w.end, w.timezone) == (time(7), time(22), "Asia/Ho_Chi_Minh")
    assert w == DECREE_91_WINDOW
    assert parse_window(" 7:30 – 8:15:30 ", "UTC") == SendWindow(
        time(7, 30), time(8, 15, 30), "UTC"
    )
    assert parse_window("22:00-24:00").end == time(0)
    assert parse_window("22:00-06:00").crosses_midnight
    assert str(parse_window("08:00-24:00", "Europe/Warsaw")) == "08:00-24:00 Europe/Warsaw"


@pytest.mark.parametrize(
    ("text", "tz", "code"),
    [
        ("", "UTC", "send_window.bad_format"),
        ("7-22", "UTC", "send_window.bad_format"),
        ("07:00", "UTC", "send_window.bad_format"),
        ("07:00-22:00-23:00", "UTC", "send_window.bad_format"),
        ("24:00-22:00", "UTC", "send_window.bad_time"),
        ("07:60-22:00", "UTC", "send_window.bad_time"),
        ("07:00-24:01", "UTC", "send_window.bad_time"),
        ("07:00-07:00", "UTC", "send_window.empty"),
        ("00:00-24:00", "UTC", "send_window.empty"),
        ("07:00-22:00", "Mars/Olympus", "time.unknown_timezone"),
    ],
)
def test_parse_window_errors(text: str, tz: str, code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_window(text, tz)
    assert err.value.code == code


def test_is_open_is_half_open_in_local_time() -> None:
    w = DECREE_91_WINDOW
    assert w.is_open(datetime(2026, 11, 23, 7, 0, tzinfo=VN))
    assert w.is_open(datetime(2026, 11, 23, 21, 59, 59, tzinfo=VN))
    assert not w.is_open(datetime(2026, 11, 23, 22, 0, tzinfo=VN))
    assert not w.is_open(datetime(2026, 11, 23, 6, 59, 59, tzinfo=VN))
    # 23:30 UTC is 06:30 next day in Vietnam: closed; 01:00 UTC is 08:00: open
    assert not w.is_open(datetime(2026, 11, 22, 23, 30, tzinfo=UTC))
    assert w.is_open(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))


def test_window_crossing_midnight() -> None:
    w = parse_window("22:00-06:00", "UTC")
    assert w.is_open(datetime(2026, 1, 1, 23, tzinfo=UTC))
    assert w.is_open(datetime(2026, 1, 2, 5, 59, tzinfo=UTC))
    assert not w.is_open(datetime(2026, 1, 2, 6, tzinfo=UTC))
    assert w.next_open(datetime(2026, 1, 2, 12, tzinfo=UTC)) == datetime(2026, 1, 2, 22, tzinfo=UTC)


def test_next_open_examples() -> None:
    w = DECREE_91_WINDOW
    open_at = datetime(2026, 11, 23, 10, 0, tzinfo=VN)
    assert w.next_open(open_at) is open_at
    assert w.next_open(datetime(2026, 11, 23, 22, 0, tzinfo=VN)) == datetime(
        2026, 11, 24, 7, 0, tzinfo=VN
    )
    assert w.next_open(datetime(2026, 11, 23, 5, 0, tzinfo=VN)) == datetime(
        2026, 11, 23, 7, 0, tzinfo=VN
    )
    # UTC input: 2026-12-31 16:00 UTC is 23:00 in Vietnam -> 07:00 on New Year's Day
    nxt = w.next_open(datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
    assert nxt == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    assert nxt.utcoffset() is not None


def test_next_open_when_start_is_skipped_by_dst() -> None:
    # Warsaw springs forward 2026-03-29 02:00 -> 03:00; 02:30 does not exist that day
    w = parse_window("02:30-05:00", "Europe/Warsaw")
    nxt = w.next_open(datetime(2026, 3, 29, 1, 0, tzinfo=WAW))
    assert nxt == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST, the transition
    assert w.is_open(nxt)
    # a window lying wholly inside the gap does not happen that day
    gap_only = parse_window("02:10-02:40", "Europe/Warsaw")
    assert gap_only.next_open(datetime(2026, 3, 29, 0, 0, tzinfo=WAW)) == datetime(
        2026, 3, 30, 2, 10, tzinfo=WAW
    )


def test_next_open_when_fall_back_repeats_the_window() -> None:
    # Warsaw falls back 2026-10-25 03:00 CEST -> 02:00 CET: 02:00-02:30 happens twice
    w = parse_window("01:00-02:30", "Europe/Warsaw")
    first_pass_0245 = datetime(2026, 10, 25, 0, 45, tzinfo=UTC)
    assert not w.is_open(first_pass_0245)
    nxt = w.next_open(first_pass_0245)
    assert nxt == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 CET, second pass
    assert w.is_open(nxt)


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(InvalidInput) as err:
        DECREE_91_WINDOW.is_open(datetime(2026, 1, 1, 8))
    assert err.value.code == "time.naive_datetime"
    with pytest.raises(InvalidInput):
        DECREE_91_WINDOW.next_open(datetime(2026, 1, 1, 8))


def test_window_bounds_must_be_naive_times() -> None:
    with pytest.raises(InvalidInput) as err:
        SendWindow(time(7, tzinfo=UTC), time(22), "UTC")
    assert err.value.code == "send_window.bad_time"


def test_first_at_or_after_midnight_in_dst_zones() -> None:
    # Havana springs forward at midnight: 2026-03-08 00:00 does not exist
    havana = ZoneInfo("America/Havana")
    start = first_at_or_after(
        datetime(2026, 3, 7, 12, tzinfo=havana), havana, datetime(2026, 3, 8, 0, 0)
    )
    assert start.astimezone(havana).replace(tzinfo=None) == datetime(2026, 3, 8, 1, 0)
    assert zone_for(havana) is havana
    with pytest.raises(InvalidInput) as err:
        first_at_or_after(start, havana, datetime(2026, 3, 8, tzinfo=UTC))
    assert err.value.code == "time.aware_wall_time"


# -- properties ----------------------------------------------------------------------

# Instants near daylight-saving transitions are where bugs live; mix them with any instant.
_TRANSITIONS = [
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # Europe spring forward
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # Europe fall back
    datetime(2026, 3, 8, 5, 0, tzinfo=UTC),  # Havana / New York spring
    datetime(2026, 11, 1, 5, 0, tzinfo=UTC),  # Havana / New York fall
    datetime(2026, 4, 4, 15, 0, tzinfo=UTC),  # Lord Howe fall back
    datetime(2011, 12, 30, 10, 0, tzinfo=UTC),  # Samoa skips a day
]
instants = st.one_of(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
    ),
    st.tuples(
        st.sampled_from(_TRANSITIONS), st.integers(min_value=-3 * 86400, max_value=3 * 86400)
    ).map(lambda p: p[0] + timedelta(seconds=p[1])),
)
wall_times = st.builds(
    time, st.integers(0, 23), st.sampled_from([0, 10, 15, 30, 45, 59]), st.sampled_from([0, 30])
)


@st.composite
def window_st(draw: st.DrawFn) -> SendWindow:
    start = draw(wall_times)
    end = draw(wall_times.filter(lambda t: t != start))
    return SendWindow(start, end, draw(st.sampled_from(ZONES)))


@given(window_st(), instants, st.sampled_from(ZONES))
def test_next_open_is_the_first_open_moment(w: SendWindow, at: datetime, view: str) -> None:
    at = at.astimezone(ZoneInfo(view))  # the caller's zone does not matter
    nxt = w.next_open(at)
    assert nxt.utcoffset() is not None
    assert nxt >= at
    assert w.is_open(nxt)
    if w.is_open(at):
        assert nxt == at
    # sample in UTC: arithmetic on datetimes of a DST zone is wall-clock arithmetic
    u, nxt_u = at.astimezone(UTC), nxt.astimezone(UTC)
    gap = nxt_u - u
    if gap > timedelta(0):
        samples = [u + gap * k / 24 for k in range(24)]
        samples.append(nxt_u - timedelta(microseconds=1))
        assert not any(w.is_open(s) for s in samples if u <= s < nxt_u)


@given(instants, st.sampled_from(ZONES), st.integers(0, 5), st.integers(0, 23))
def test_first_at_or_after_properties(at: datetime, tz: str, days: int, hour: int) -> None:
    zone = ZoneInfo(tz)
    wall = datetime.combine(at.astimezone(zone).date() + timedelta(days=days), time(hour))
    found = first_at_or_after(at, tz, wall)
    assert found >= at

    def local(u: datetime) -> datetime:
        return u.astimezone(zone).replace(tzinfo=None)

    assert local(found) >= wall
    if found > at:
        before = found - timedelta(microseconds=1)
        assert before < at or local(before) < wall
