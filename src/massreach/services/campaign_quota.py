"""What the carrier quotas let through of an advertising SMS campaign, before it is sent.

Viettel caps advertising SMS per subscriber and per local day and month (see
:mod:`massreach.core.quota`); the built-in quota policy counts what each number already
received. The forecast reads those counters for the campaign's Viettel recipients and
simulates the campaign day by day from its start (the scheduled time or now, moved to
the next opening of the advertising send window): how many messages may go at once and,
for the rest, on which local day each can go.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from attrs import field, frozen

from massreach.adapters.quota_policy import viettel_quota, viettel_usage
from massreach.adapters.send_window_policy import window_of
from massreach.config import MassreachConfig
from massreach.core.lifecycle import CampaignKind
from massreach.core.quota import plan_campaign
from massreach.model import Campaign
from massreach.model.fields import to_tuple
from massreach.storage import Storage

#: Audience contacts read per page.
PAGE = 5000


@frozen
class QuotaForecast:
    """``now`` messages may go at ``start``; ``by_day`` says how many of the others
    may go on each later local day; ``never`` go to subscribers with a zero cap."""

    start: datetime
    timezone: str
    total: int
    now: int
    held: int
    never: int
    by_day: tuple[tuple[date, int], ...] = field(converter=to_tuple)


def _phones(storage: Storage, campaign: Campaign) -> Iterator[str]:
    """Each distinct phone of the reachable audience, once."""
    seen: set[str] = set()
    after = 0
    while True:
        page = storage.audience(campaign, channel_field="phone", limit=PAGE, after_id=after)
        if not page:
            return
        for contact in page:
            if contact.phone and contact.phone not in seen:
                seen.add(contact.phone)
                yield contact.phone
        after = page[-1].id


def quota_forecast(
    storage: Storage, config: MassreachConfig, campaign: Campaign, now: datetime
) -> QuotaForecast | None:
    """The forecast for an advertising SMS campaign; None for any other campaign."""
    if campaign.channel != "sms" or campaign.kind != CampaignKind.ads:
        return None
    quota = viettel_quota(config.quota)
    window = window_of(config.send_window)
    start = window.next_open(max(now, campaign.scheduled_at or now))
    total = free = 0
    limited: list[str] = []
    for phone in _phones(storage, campaign):
        total += 1
        if quota.applies_to(phone):
            limited.append(phone)
        else:
            free += 1
    used = viettel_usage(storage, limited, start)
    plan = plan_campaign(
        [(phone, *used[phone]) for phone in limited], quota.caps_for, start, quota.timezone
    )
    return QuotaForecast(
        start=start,
        timezone=quota.timezone,
        total=total,
        now=plan.now + free,
        held=plan.held,
        never=plan.never,
        by_day=plan.by_day,
    )
