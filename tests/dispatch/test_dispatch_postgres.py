"""Four dispatcher processes on one PostgreSQL database, 5,000 messages: every message
that may go is sent exactly once, and the Viettel caps hold under concurrency."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from tests.adapters.http_gateway import http_gateway
from tests.dispatch.support import make_campaign, viettel, vinaphone

from massreach.config import (
    DispatchConfig,
    MassreachConfig,
    QuotaConfig,
    SendWindowConfig,
)
from massreach.engine import Reach
from massreach.model import MessageState

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KEY = "pg-key"
CARE = 4100
SUBSCRIBERS = 300
VIP = 30
ADS_CAMPAIGNS = 3
LOCAL = timedelta(hours=7)  # Vietnam: where Viettel's days begin


def open_window() -> SendWindowConfig:
    """An advertising window (in UTC) that is open now and for the next two hours."""
    now = datetime.now(UTC)
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=2)).time()
    return SendWindowConfig(
        start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0), "UTC"
    )


def test_four_workers_send_each_message_once_within_the_caps(pg_url: str) -> None:
    viettel_numbers = [viettel(n) for n in range(SUBSCRIBERS)]
    vip = set(viettel_numbers[:VIP])
    with http_gateway(api_key=KEY) as gw:
        cfg = MassreachConfig(
            channel_tables={
                "sms_gateway": ({"name": "default", "url": gw.url, "api_key_env": "SMS_API_KEY"},)
            },
            quota=QuotaConfig(
                ads_per_day=2,
                ads_per_month=8,
                vip_ads_per_day=1,
                vip_ads_per_month=5,
                vip_numbers=vip,
            ),
            send_window=open_window(),
            dispatch=DispatchConfig(batch_size=50, lease_seconds=60),
        )
        with Reach(pg_url, config=cfg, env={"SMS_API_KEY": KEY}) as reach:
            make_campaign(reach, "care", [vinaphone(n) for n in range(CARE)])
            for number in range(ADS_CAMPAIGNS):
                make_campaign(reach, f"ads {number}", viettel_numbers, kind="ads")
            report = reach.dispatch.run(until_idle=True, workers=4)
            messages = [
                m
                for campaign in reach.storage.campaigns()
                for m in reach.storage.messages(campaign.id, limit=10_000)
            ]
    assert report.workers == 4
    total = CARE + ADS_CAMPAIGNS * SUBSCRIBERS
    assert len(messages) == total == 5000
    allowed = (SUBSCRIBERS - VIP) * 2 + VIP * 1
    states = Counter(m.state for m in messages)
    assert states == {
        MessageState.sent: CARE,
        MessageState.accepted: allowed,
        MessageState.held: ADS_CAMPAIGNS * SUBSCRIBERS - allowed,
    }
    assert dict(report.states) == {s.value: n for s, n in states.items()}
    # exactly once at the gateway: every sent or accepted message, no other, no repeat
    handed = {
        m.client_id for m in messages if m.state in (MessageState.sent, MessageState.accepted)
    }
    assert set(gw.accepted) == handed
    assert gw.duplicates == 0
    # caps per subscriber and local day, whatever worker sent what
    per_day = Counter(
        (m.target, (m.sent_at + LOCAL).date())
        for m in messages
        if m.state is MessageState.accepted and m.sent_at is not None
    )
    for (target, _day), count in per_day.items():
        assert count <= (1 if target in vip else 2)
    held = [m for m in messages if m.state is MessageState.held]
    assert all((m.reason or "").startswith("quota.day_cap") for m in held)
