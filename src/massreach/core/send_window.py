"""Send windows: the local hours in which advertising messages may go out.

Decree 91/2020 allows advertising SMS only between 07:00 and 22:00 Vietnam time;
:data:`DECREE_91_WINDOW` is that window. A window is a pair of local wall-clock
times ``[start, end)`` in a named IANA zone; when ``end <= start`` the window
crosses midnight (``"22:00-06:00"``), and an end of ``24:00`` means "until
midnight".

Time zones with daylight saving are handled by wall-clock semantics: a moment is
inside the window when its local wall-clock time is. A local time skipped by a
spring-forward jump does not exist, so the window opens at the first moment
that does (the transition itself); a local time repeated by a fall-back jump is
open both times.

This module also holds the small time helpers the rest of the core shares
(:func:`zone_for`, :func:`require_aware`, :func:`first_at_or_after`). Everything
here is pure: no clock is read, ``now`` is always a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import field, frozen

from massreach.errors import InvalidInput

__all__ = [
    "DECREE_91_WINDOW",
    "SendWindow",
    "first_at_or_after",
    "parse_window",
    "require_aware",
    "zone_for",
]

# Offsets are probed this far apart when looking for a daylight-saving transition.
# Real zones never change offset twice within a few hours and back again.
_PROBE_STEP = timedelta(hours=3)
# Upper bound on the offset changes crossed by one search (a safety net, never hit).
_MAX_SEGMENTS = 1000
_ONE_MICROSECOND = timedelta(microseconds=1)

_TIME = r"(\d{1,2}):(\d{2})(?::(\d{2}))?"
_WINDOW_RE = re.compile(rf"^\s*{_TIME}\s*[-–]\s*{_TIME}\s*$")


def zone_for(tz: str | tzinfo) -> tzinfo:
    """The ``tzinfo`` for an IANA zone name (``"Asia/Ho_Chi_Minh"``) or a tzinfo as is.

    Raises :class:`InvalidInput` (``time.unknown_timezone``) for an unknown name.
    """
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"Unknown time zone {tz!r}; use an IANA name such as 'Asia/Ho_Chi_Minh'.",
            code="time.unknown_timezone",
            details={"timezone": str(tz)},
        ) from exc


def require_aware(at: datetime, what: str = "time") -> datetime:
    """Return ``at`` if it carries a time zone; raise ``time.naive_datetime`` if not."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(
            f"The {what} must carry a time zone (got {at.isoformat()}).",
            code="time.naive_datetime",
            details={"what": what, "value": at.isoformat()},
        )
    return at


def _offset(u: datetime, zone: tzinfo) -> timedelta:
    off = u.astimezone(zone).utcoffset()
    assert off is not None  # every tzinfo we build gives an offset for aware input
    return off


def _transition_in(lo: datetime, hi: datetime, zone: tzinfo, off: timedelta) -> datetime | None:
    """The first instant in ``(lo, hi]`` whose UTC offset differs from ``off``."""
    prev = lo
    while prev < hi:
        probe = min(prev + _PROBE_STEP, hi)
        if _offset(probe, zone) != off:
            good, bad = prev, probe
            while bad - good > _ONE_MICROSECOND:
                mid = good + (bad - good) / 2
                if _offset(mid, zone) == off:
                    good = mid
                else:
                    bad = mid
            return bad
        prev = probe
    return None


def _first_instant(
    at: datetime, zone: tzinfo, wants: Callable[[datetime], datetime | None]
) -> datetime:
    """Walk forward from ``at`` through stretches of constant UTC offset.

    ``wants(wall)`` gets the local wall-clock time (naive) at the start of a
    stretch and returns ``None`` if that moment qualifies, otherwise the next
    wall-clock time that would qualify if the offset stayed the same. Returns the
    first qualifying instant, in UTC.
    """
    u = require_aware(at).astimezone(UTC)
    for _ in range(_MAX_SEGMENTS):
        off = _offset(u, zone)
        wall = (u + off).replace(tzinfo=None)
        target = wants(wall)
        if target is None:
            return u
        candidate = u + (target - wall)
        change = _transition_in(u, candidate, zone, off)
        if change is None:
            return candidate
        u = change
    raise InvalidInput(  # pragma: no cover - no real zone changes offset this often
        "The time zone changes its offset too often to find the moment asked for.",
        code="time.search_exhausted",
        details={"at": at.isoformat()},
    )


def first_at_or_after(at: datetime, tz: str | tzinfo, wall: datetime) -> datetime:
    """The first instant ``>= at`` whose local wall-clock time in ``tz`` is ``>= wall``.

    ``wall`` is a naive local date-time such as the next local midnight. If it
    does not exist (a spring-forward gap) the answer is the transition instant; if
    it occurs twice (fall-back) the answer is its first occurrence after ``at``.
    The result is in UTC (a local datetime in a repeated hour carries ``fold=1``,
    and such datetimes never compare equal across zones).
    """
    zone = zone_for(tz)
    if wall.tzinfo is not None:
        raise InvalidInput(
            "The local wall-clock time must be naive.",
            code="time.aware_wall_time",
            details={"value": wall.isoformat()},
        )
    return _first_instant(at, zone, lambda w: None if w >= wall else wall)


def _valid_zone_name(_instance: object, _attribute: object, value: str) -> None:
    zone_for(value)


def _naive_time(_instance: object, _attribute: object, value: time) -> None:
    if not isinstance(value, time) or value.tzinfo is not None:
        raise InvalidInput(
            "Send window bounds must be naive local times.",
            code="send_window.bad_time",
            details={"value": str(value)},
        )


@frozen
class SendWindow:
    """Local hours ``[start, end)`` in ``timezone`` in which sending is allowed.

    ``end <= start`` means the window crosses midnight; ``end == start`` is
    rejected (``send_window.empty``). ``end == time(0)`` reads as "until midnight".
    """

    start: time = field(validator=_naive_time)
    end: time = field(validator=_naive_time)
    timezone: str = field(default="Asia/Ho_Chi_Minh", validator=_valid_zone_name)

    def __attrs_post_init__(self) -> None:
        if self.start == self.end:
            raise InvalidInput(
                "A send window must not start and end at the same time.",
                code="send_window.empty",
                details={"start": self.start.isoformat(), "end": self.end.isoformat()},
            )

    @property
    def zone(self) -> tzinfo:
        """The window's time zone."""
        return zone_for(self.timezone)

    @property
    def crosses_midnight(self) -> bool:
        """True when the window runs over local midnight (e.g. ``22:00-06:00``)."""
        return self.end <= self.start

    def _open_at_wall(self, t: time) -> bool:
        if self.crosses_midnight:
            return t >= self.start or t < self.end
        return self.start <= t < self.end

    def is_open(self, at: datetime) -> bool:
        """True when the aware instant ``at`` falls inside the window (local time)."""
        local = require_aware(at).astimezone(self.zone)
        return self._open_at_wall(local.time())

    def next_open(self, at: datetime) -> datetime:
        """The first instant ``>= at`` inside the window; ``at`` itself when open.

        A computed result is in UTC (convert it for display); it is unambiguous,
        unlike a local time in a repeated hour.
        """
        require_aware(at)
        if self.is_open(at):
            return at

        def wants(wall: datetime) -> datetime | None:
            if self._open_at_wall(wall.time()):
                return None
            day = wall.date()
            if wall.time() >= self.start:
                day += timedelta(days=1)
            return datetime.combine(day, self.start)

        return _first_instant(at, self.zone, wants)

    def __str__(self) -> str:
        end = "24:00" if self.end == time(0) else _fmt(self.end)
        return f"{_fmt(self.start)}-{end} {self.timezone}"


def _fmt(t: time) -> str:
    return t.strftime("%H:%M:%S" if t.second else "%H:%M")


def _parse_time(h: str, m: str, s: str | None, text: str, *, is_end: bool) -> time:
    hour, minute, second = int(h), int(m), int(s or 0)
    if is_end and (hour, minute, second) == (24, 0, 0):
        return time(0)
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidInput(
            f"{h}:{m}{':' + s if s else ''} is not a time of day in send window {text!r}.",
            code="send_window.bad_time",
            details={"text": text},
        )
    return time(hour, minute, second)


def parse_window(text: str, tz: str = "Asia/Ho_Chi_Minh") -> SendWindow:
    """Parse ``"07:00-22:00"`` (or ``"22:00-06:00"``, ``"08:00-24:00"``) into a window.

    Raises :class:`InvalidInput` with ``send_window.bad_format`` for text that is
    not ``HH:MM-HH:MM``, ``send_window.bad_time`` for an impossible time,
    ``send_window.empty`` when both ends are equal and ``time.unknown_timezone``.
    """
    match = _WINDOW_RE.match(text)
    if match is None:
        raise InvalidInput(
            f"Send window {text!r} is not in the form HH:MM-HH:MM (e.g. 07:00-22:00).",
            code="send_window.bad_format",
            details={"text": text},
        )
    g = match.groups()
    start = _parse_time(g[0], g[1], g[2], text, is_end=False)
    end = _parse_time(g[3], g[4], g[5], text, is_end=True)
    return SendWindow(start, end, tz)


DECREE_91_WINDOW = SendWindow(time(7), time(22), "Asia/Ho_Chi_Minh")
"""Decree 91/2020: advertising messages only from 07:00 to 22:00, Vietnam time."""
