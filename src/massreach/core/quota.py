"""Per-subscriber caps on advertising SMS: Viettel's quota and Decree 91's rolling cap.

Viettel lets a subscriber receive at most ``per_day`` advertising messages in a
local day and ``per_month`` in a local month (2 and 8 by default, 1 and 5 for
VIP subscribers). Decree 91/2020 allows at most 3 advertising messages from one
sender to one number within any 24 hours. A message over a cap is *held* until
the moment it may go, never failed: every refusal comes with ``next_possible``.

Days and months are local to the quota's time zone (Vietnam by default). The
functions here only decide; counting what each subscriber already received is
the caller's job (storage keeps the counters under :func:`quota_keys`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from attrs import Factory, field, frozen, validators

from massreach.core.carriers import is_viettel
from massreach.core.send_window import first_at_or_after, require_aware, zone_for
from massreach.errors import InvalidInput

__all__ = [
    "QuotaCaps",
    "QuotaDecision",
    "QuotaPlan",
    "RollingCap",
    "ViettelQuota",
    "decide",
    "plan_campaign",
    "quota_keys",
    "rolling_decision",
]

REASON_DAY_CAP = "quota.day_cap"
REASON_MONTH_CAP = "quota.month_cap"
REASON_NEVER = "quota.cap_zero"
REASON_ROLLING_CAP = "quota.rolling_cap"

# Each hold moves to a new local day or month and resets a counter, so a message
# is placed within two steps; this is only a safety bound.
_MAX_STEPS = 16

_non_negative = [validators.instance_of(int), validators.ge(0)]


@frozen
class QuotaCaps:
    """Most advertising messages one subscriber may get per local day and month.

    A cap of 0 means the subscriber gets no advertising messages at all.
    """

    per_day: int = field(validator=_non_negative)
    per_month: int = field(validator=_non_negative)


def _frozenset_of_str(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        raise InvalidInput(
            "vip_numbers must be a collection of phone numbers, not one string.",
            code="quota.bad_vip_numbers",
        )
    return frozenset(str(v) for v in value)


def _valid_zone(_instance: object, _attribute: object, value: str) -> None:
    zone_for(value)


@frozen
class QuotaDecision:
    """Whether a message may go now; if not, the earliest moment it may and why."""

    allowed: bool = field(validator=validators.instance_of(bool))
    next_possible: datetime | None = None
    reason: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.allowed and (self.next_possible is not None or self.reason is not None):
            raise InvalidInput(
                "An allowed decision has no next_possible time or reason.",
                code="quota.bad_decision",
            )
        if self.next_possible is not None:
            require_aware(self.next_possible, "next possible time")


ALLOWED = QuotaDecision(allowed=True)


@frozen
class ViettelQuota:
    """Viettel's per-subscriber caps for advertising SMS.

    Only Viettel numbers (:meth:`applies_to`) are limited; numbers in
    ``vip_numbers`` (E.164) get the ``vip`` caps, the others ``normal``.
    """

    normal: QuotaCaps = field(default=QuotaCaps(2, 8), validator=validators.instance_of(QuotaCaps))
    vip: QuotaCaps = field(default=QuotaCaps(1, 5), validator=validators.instance_of(QuotaCaps))
    vip_numbers: frozenset[str] = field(default=Factory(frozenset), converter=_frozenset_of_str)
    timezone: str = field(default="Asia/Ho_Chi_Minh", validator=_valid_zone)

    def applies_to(self, e164: str) -> bool:
        """True when the number is a Viettel number, so these caps limit it."""
        return is_viettel(e164)

    def caps_for(self, e164: str) -> QuotaCaps | None:
        """The caps for one number, or ``None`` when the Viettel quota does not apply."""
        if not self.applies_to(e164):
            return None
        return self.vip if e164 in self.vip_numbers else self.normal

    def decide(
        self, e164: str, used_today: int, used_this_month: int, at: datetime
    ) -> QuotaDecision:
        """:func:`decide` for one number in this quota's zone; non-Viettel always allowed."""
        caps = self.caps_for(e164)
        if caps is None:
            require_aware(at)
            return ALLOWED
        return decide(caps, used_today, used_this_month, at, self.timezone)

    def keys(self, e164: str, at: datetime) -> tuple[str, str]:
        """:func:`quota_keys` in this quota's zone."""
        return quota_keys(e164, at, self.timezone)


def quota_keys(e164: str, at: datetime, tz: str | tzinfo) -> tuple[str, str]:
    """The local day and month ``at`` counts toward: ``("2026-11-23", "2026-11")``.

    Storage keeps one day counter and one month counter per number under these
    keys. ``e164`` is part of the signature so keys may one day depend on the
    subscriber (today they do not).
    """
    del e164
    local = require_aware(at).astimezone(zone_for(tz))
    return local.strftime("%Y-%m-%d"), local.strftime("%Y-%m")


def _next_day_start(at: datetime, zone: tzinfo) -> datetime:
    day = at.astimezone(zone).date() + timedelta(days=1)
    return first_at_or_after(at, zone, datetime.combine(day, time(0)))


def _next_month_start(at: datetime, zone: tzinfo) -> datetime:
    local = at.astimezone(zone).date()
    year, month = divmod(local.year * 12 + local.month, 12)  # month after local's, 0-based
    first = date(year, month + 1, 1)
    return first_at_or_after(at, zone, datetime.combine(first, time(0)))


def _check_used(used_today: int, used_this_month: int) -> None:
    if min(used_today, used_this_month) < 0:
        raise InvalidInput(
            "Message counters cannot be negative.",
            code="quota.negative_count",
            details={"used_today": used_today, "used_this_month": used_this_month},
        )


def decide(
    caps: QuotaCaps, used_today: int, used_this_month: int, at: datetime, tz: str | tzinfo
) -> QuotaDecision:
    """May one more advertising message go to a subscriber at ``at``?

    ``used_today`` and ``used_this_month`` count what the subscriber already got
    in the local day and month of ``at``. When the month is full the message is
    held until the first moment of the next local month; when only the day is
    full, until the next local midnight. A zero cap holds it for good
    (``next_possible`` is ``None``, reason ``quota.cap_zero``).
    """
    require_aware(at)
    _check_used(used_today, used_this_month)
    zone = zone_for(tz)
    if caps.per_day == 0 or caps.per_month == 0:
        return QuotaDecision(allowed=False, next_possible=None, reason=REASON_NEVER)
    if used_this_month >= caps.per_month:
        return QuotaDecision(False, _next_month_start(at, zone), REASON_MONTH_CAP)
    if used_today >= caps.per_day:
        return QuotaDecision(False, _next_day_start(at, zone), REASON_DAY_CAP)
    return ALLOWED


@frozen
class RollingCap:
    """Decree 91/2020: at most ``max_messages`` to one number per sender in ``window``."""

    max_messages: int = field(default=3, validator=[validators.instance_of(int), validators.ge(1)])
    window: timedelta = field(default=timedelta(hours=24))

    @window.validator
    def _positive(self, _attribute: object, value: timedelta) -> None:
        if value <= timedelta(0):
            raise InvalidInput(
                "The rolling window must be longer than zero.",
                code="quota.bad_window",
                details={"window_seconds": value.total_seconds()},
            )


def rolling_decision(
    sent_times: Sequence[datetime], at: datetime, cap: RollingCap | None = None
) -> QuotaDecision:
    """May one more message go at ``at`` given the times earlier ones were sent?

    ``sent_times`` are the messages already sent to this number by this sender
    (aware; order does not matter; anything older than the window is ignored,
    anything later than ``at`` counts, to stay on the safe side). When the cap is
    reached, ``next_possible`` is when enough of them have left the window.
    """
    rule = cap or RollingCap()
    # Arithmetic and comparisons in UTC: Python compares and adds datetimes that
    # share a zone by wall-clock time, which is wrong across a DST change.
    now = require_aware(at).astimezone(UTC)
    since = now - rule.window
    sent = (require_aware(t, "sent time").astimezone(UTC) for t in sent_times)
    recent = sorted(t for t in sent if t > since)
    if len(recent) < rule.max_messages:
        return ALLOWED
    leaving = recent[len(recent) - rule.max_messages]
    return QuotaDecision(False, leaving + rule.window, REASON_ROLLING_CAP)


@frozen
class QuotaPlan:
    """What the quota lets through of a planned campaign.

    ``now``: messages that may go at the start time (numbers the quota does not
    apply to included); ``by_day``: for held ones, how many may go on each local
    day, in date order; ``never``: messages to subscribers with a zero cap.
    """

    total: int
    now: int
    by_day: tuple[tuple[date, int], ...]
    never: int = 0

    @property
    def held(self) -> int:
        """Messages that must wait for a later day."""
        return self.total - self.now - self.never


def plan_campaign(
    recipients: Sequence[tuple[str, int, int]],
    caps_fn: Callable[[str], QuotaCaps | None],
    start: datetime,
    tz: str | tzinfo,
) -> QuotaPlan:
    """Preview a campaign of one message per recipient against the quota.

    ``recipients`` are ``(phone, used_today, used_this_month)`` as of ``start``;
    ``caps_fn`` gives a number's caps or ``None`` when it is not limited (e.g.
    :meth:`ViettelQuota.caps_for`). Each message is simulated forward from
    ``start``, local day by local day, resetting counters as days and months
    change; a number listed twice gets its second message after its first.
    """
    start = require_aware(start).astimezone(UTC)
    zone = zone_for(tz)
    now_count = 0
    never = 0
    days: Counter[date] = Counter()
    # per phone: (instant of its latest planned message, used that day, used that month)
    state: dict[str, tuple[datetime, int, int]] = {}
    for phone, used_today, used_month in recipients:
        _check_used(used_today, used_month)
        caps = caps_fn(phone)
        if caps is None:
            now_count += 1
            continue
        at, day_used, month_used = state.get(phone, (start, used_today, used_month))
        when = _first_allowed(caps, day_used, month_used, at, zone)
        if when is None:
            never += 1
            continue
        sent_at, day_used, month_used = when
        state[phone] = when
        if sent_at == start:
            now_count += 1
        else:
            days[sent_at.astimezone(zone).date()] += 1
    return QuotaPlan(
        total=len(recipients), now=now_count, by_day=tuple(sorted(days.items())), never=never
    )


def _first_allowed(
    caps: QuotaCaps, day_used: int, month_used: int, at: datetime, zone: tzinfo
) -> tuple[datetime, int, int] | None:
    """When the next message may go from ``at`` on, and the counters after it."""
    day_key, month_key = quota_keys("", at, zone)
    for _ in range(_MAX_STEPS):
        decision = decide(caps, day_used, month_used, at, zone)
        if decision.allowed:
            return at, day_used + 1, month_used + 1
        if decision.next_possible is None:
            return None
        at = decision.next_possible
        new_day, new_month = quota_keys("", at, zone)
        if new_month != month_key:
            day_used = month_used = 0
        elif new_day != day_key:
            day_used = 0
        day_key, month_key = new_day, new_month
    raise AssertionError("quota simulation did not converge")  # pragma: no cover
