"""The quota policy: Viettel's per-subscriber caps and Decree 91's rolling cap.

Both concern advertising only, and both *hold* a message over a cap until the moment
it may go; nothing is failed for a cap (except for a subscriber whose cap is zero,
who never gets advertising: dropped with ``quota.cap_zero``).

* Viettel (``[quota.viettel]``; advertising SMS to Viettel numbers, see
  :func:`massreach.core.carriers.is_viettel`): at most ``ads_per_day`` in a local day
  and ``ads_per_month`` in a local month (Vietnam time), VIP numbers
  (``vip_numbers``, ``vip_numbers_file``) the VIP caps. Counted in storage counters
  under :func:`viettel_counter_keys` (one per number and day, one per number and
  month): reserved atomically before the send, so they survive restarts and are
  shared by every worker on the same database, and given back when the message is
  not sent after all.
* Decree 91/2020: at most ``[dispatch] decree91_per_24h`` (3) advertising messages
  to one number (or email address) from one sender (the SMS brandname, the email
  account) within any 24 hours; a storage rolling window under
  :func:`decree91_key`, SMS and email alike.

A host product previewing a campaign reads what each number already used with
:func:`viettel_usage` and gives it to :func:`massreach.core.quota.plan_campaign`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from massreach.config import QuotaConfig
from massreach.core.lifecycle import CampaignKind
from massreach.core.quota import (
    REASON_DAY_CAP,
    REASON_MONTH_CAP,
    REASON_NEVER,
    REASON_ROLLING_CAP,
    QuotaCaps,
    ViettelQuota,
)
from massreach.markers import hookimpl
from massreach.model import Campaign, OutboxMessage
from massreach.policies import (
    BasePolicy,
    PolicyContext,
    PolicyDecision,
    Reservation,
    SendPolicy,
)
from massreach.storage import Storage

__all__ = [
    "DECREE_91_WINDOW_LENGTH",
    "QuotaPolicy",
    "decree91_key",
    "viettel_counter_keys",
    "viettel_quota",
    "viettel_usage",
]

#: The length of Decree 91's rolling window.
DECREE_91_WINDOW_LENGTH = timedelta(hours=24)
#: When a full counter was freed between the reservation and the look at it.
_RACE_RETRY = timedelta(minutes=1)
_ZONE = "Asia/Ho_Chi_Minh"


@lru_cache(maxsize=16)
def viettel_quota(config: QuotaConfig) -> ViettelQuota:
    """The core :class:`ViettelQuota` for a ``[quota.viettel]`` section."""
    return ViettelQuota(
        normal=QuotaCaps(config.ads_per_day, config.ads_per_month),
        vip=QuotaCaps(config.vip_ads_per_day, config.vip_ads_per_month),
        vip_numbers=config.vip_numbers,
        timezone=_ZONE,
    )


def viettel_counter_keys(e164: str, at: datetime) -> tuple[str, str]:
    """The storage counters of one number for the local day and month of ``at``:
    ``("viettel:day:2026-11-23:+84961234567", "viettel:month:2026-11:+84961234567")``."""
    day, month = viettel_quota(QuotaConfig()).keys(e164, at)
    return f"viettel:day:{day}:{e164}", f"viettel:month:{month}:{e164}"


def decree91_key(channel: str, sender: str, target: str) -> str:
    """The rolling-window key of one sender and one target (emails case-folded)."""
    return f"decree91:{channel}:{sender}:{target.casefold()}"


def viettel_usage(
    storage: Storage, phones: Sequence[str], at: datetime
) -> dict[str, tuple[int, int]]:
    """Advertising SMS each number already got in the local day and month of ``at``
    (as counted by this policy): ``{phone: (used_today, used_this_month)}``."""
    keys = {phone: viettel_counter_keys(phone, at) for phone in phones}
    values = storage.counter_values([key for pair in keys.values() for key in pair])
    return {phone: (values[day], values[month]) for phone, (day, month) in keys.items()}


def _sender(campaign: Campaign) -> str:
    if campaign.channel == "sms":
        return campaign.brandname or campaign.account or "default"
    return campaign.account or "default"


class QuotaPolicy(BasePolicy):
    """Viettel's caps and Decree 91's rolling cap for advertising messages."""

    name = "quota"
    order = 30

    def check(
        self, message: OutboxMessage, campaign: Campaign, ctx: PolicyContext
    ) -> PolicyDecision | None:
        """Reserve the message's place under every cap, or hold it until it has one."""
        if campaign.kind is not CampaignKind.ads:
            return None
        counters: tuple[str, ...] = ()
        if campaign.channel == "sms":
            decision, counters = self._viettel(message.target, ctx)
            if decision is not None:
                return decision
        key = decree91_key(campaign.channel, _sender(campaign), message.target)
        limit = ctx.config.dispatch.decree91_per_24h
        storage = ctx.storage
        next_free = storage.reserve_window(
            key, now=ctx.now, window=DECREE_91_WINDOW_LENGTH, limit=limit
        )
        if next_free is not None:
            if counters:
                storage.release_counters(counters)
            return PolicyDecision.hold(
                next_free,
                f"{REASON_ROLLING_CAP}: at most {limit} advertising messages to one "
                f"recipient from {_sender(campaign)!r} within 24 hours (Decree 91/2020)",
            )
        return PolicyDecision.send(Reservation(counters=counters, windows=((key, ctx.now),)))

    def prepare(self, batch: Sequence[tuple[OutboxMessage, Campaign]], ctx: PolicyContext) -> None:
        """Read the Viettel counters of the batch's advertising SMS in one call, so that
        messages to subscribers already at their cap are held without a write."""
        quota = viettel_quota(ctx.config.quota)
        keys = {
            key
            for message, campaign in batch
            if campaign.kind is CampaignKind.ads
            and campaign.channel == "sms"
            and quota.applies_to(message.target)
            for key in viettel_counter_keys(message.target, ctx.now)
        }
        ctx.cache[self.name] = ctx.storage.counter_values(sorted(keys)) if keys else {}

    def _viettel(
        self, phone: str, ctx: PolicyContext
    ) -> tuple[PolicyDecision | None, tuple[str, ...]]:
        """Reserve a Viettel subscriber's day and month counters (or decide to wait)."""
        quota = viettel_quota(ctx.config.quota)
        caps = quota.caps_for(phone)
        if caps is None:
            return None, ()
        if caps.per_day == 0 or caps.per_month == 0:
            reason = f"{REASON_NEVER}: this Viettel subscriber gets no advertising SMS"
            return PolicyDecision.drop(reason), ()
        now = ctx.now
        day_key, month_key = viettel_counter_keys(phone, now)
        seen: dict[str, int] = ctx.cache.get(self.name) or {}
        # Counters only grow within their day and month (but for a give-back, which
        # this then treats as still taken: the cap errs on the safe side).
        known = day_key in seen and month_key in seen
        if known and (seen[day_key] >= caps.per_day or seen[month_key] >= caps.per_month):
            return self._hold(quota, caps, phone, (seen[day_key], seen[month_key]), now), ()
        storage = ctx.storage
        if storage.reserve_counters([(day_key, caps.per_day), (month_key, caps.per_month)]):
            if known:
                seen[day_key] += 1
                seen[month_key] += 1
            return None, (day_key, month_key)
        values = storage.counter_values([day_key, month_key])
        seen.update(values)
        return self._hold(quota, caps, phone, (values[day_key], values[month_key]), now), ()

    @staticmethod
    def _hold(
        quota: ViettelQuota,
        caps: QuotaCaps,
        phone: str,
        used: tuple[int, int],
        now: datetime,
    ) -> PolicyDecision:
        """Hold a message over a Viettel cap (``used``: today, this month) until the
        day or month it may go."""
        decision = quota.decide(phone, used[0], used[1], now)
        until = decision.next_possible or now + _RACE_RETRY
        if decision.reason == REASON_MONTH_CAP:
            reason = f"{REASON_MONTH_CAP}: Viettel allows {caps.per_month} advertising SMS"
            return PolicyDecision.hold(until, reason + " a month to this subscriber")
        reason = f"{REASON_DAY_CAP}: Viettel allows {caps.per_day} advertising SMS"
        return PolicyDecision.hold(until, reason + " a day to this subscriber")


@hookimpl(trylast=True)
def massreach_register_policies(register: Callable[[SendPolicy], None]) -> None:
    """Register the built-in quota policy."""
    register(QuotaPolicy())
