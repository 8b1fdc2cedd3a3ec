"""The dispatcher against real servers on loopback: aiosmtpd (451, 550, a dropped
connection) and the HTTP SMS gateway (accept, reject, 429, duplicate client ids),
then delivery reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.adapters.http_gateway import Gateway, http_gateway
from tests.adapters.smtp_servers import SmtpServer, smtp_server
from tests.dispatch.support import Clock, config, make_campaign, vinaphone

from massreach.adapters.sms_http_channel import SmsHttpChannelFactory
from massreach.channels import OutgoingMessage
from massreach.config import DispatchConfig
from massreach.core.lifecycle import CampaignState
from massreach.engine import Reach
from massreach.model import DeliveryReport, MessageState

KEY = "secret-key"


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory:" if request.param == "memory" else f"sqlite:///{tmp_path / 'm.db'}"


# -- SMTP -----------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    rules = {
        "busy@example.com": "451-once",
        "nobody@example.com": "550",
        "drop@example.com": "drop-once",
    }
    with smtp_server(rules) as server:
        yield server


def smtp_reach(url: str, clock: Clock, server: SmtpServer) -> Reach:
    table = {
        "name": "default",
        "host": server.host,
        "port": server.port,
        "from": "Cửa hàng <shop@example.com>",
        "max_connections": 2,
    }
    cfg = config(tables={"smtp": [table]}, dispatch=DispatchConfig(batch_size=50))
    return Reach(url, config=cfg, clock=clock)


def test_smtp_retries_451_and_drops_fails_550_with_the_reply(
    url: str, clock: Clock, smtp: SmtpServer
) -> None:
    good = [f"user{n}@example.com" for n in range(20)]
    targets = [*good, "busy@example.com", "nobody@example.com", "drop@example.com"]
    with smtp_reach(url, clock, smtp) as reach:
        make_campaign(reach, "mail", targets, channel="email", account="default")
        report = reach.dispatch.run(until_idle=True)
        assert report.states == {"sent": 20, "pending": 2, "failed": 1}
        [failed] = reach.dispatch.failed("mail")
        assert failed.reason == "550 5.1.1 no such user"
        waiting = {
            v.target: v for v in reach.dispatch.messages("mail", states=["pending"], unmask=True)
        }
        assert set(waiting) == {"busy@example.com", "drop@example.com"}
        assert (waiting["busy@example.com"].reason or "").startswith("retry 1/4: 451")
        assert "connection lost" in (waiting["drop@example.com"].reason or "")
        clock.now = max(v.due_at for v in waiting.values() if v.due_at is not None)
        assert reach.dispatch.run(until_idle=True).states == {"sent": 2}
        assert reach.campaigns.get("mail").state is CampaignState.completed
    received = smtp.recipients()
    assert sorted(received) == sorted([*good, "busy@example.com", "drop@example.com"])
    message = next(m for m in smtp.messages if m.rcpt_tos == ["user3@example.com"]).parsed()
    assert message["Subject"] == "Xin chào Khách 3"
    assert message["Message-ID"].startswith("<mr-1-")
    assert message["From"] == "Cửa hàng <shop@example.com>"


# -- the HTTP SMS gateway ------------------------------------------------------------------


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with http_gateway(api_key=KEY, reject={vinaphone(9): "blocked number"}) as gw:
        yield gw


def gateway_reach(url: str, clock: Clock, gw: Gateway, **dispatch: int) -> Reach:
    table = {"name": "default", "url": gw.url, "api_key_env": "SMS_API_KEY"}
    cfg = config(tables={"sms_gateway": [table]}, dispatch=DispatchConfig(**dispatch))
    return Reach(url, config=cfg, clock=clock, env={"SMS_API_KEY": KEY})


def test_gateway_care_is_final_rejections_fail(url: str, clock: Clock, gateway: Gateway) -> None:
    with gateway_reach(url, clock, gateway) as reach:
        make_campaign(reach, "care", [vinaphone(1), vinaphone(2), vinaphone(9)])
        assert reach.dispatch.run(until_idle=True).states == {"failed": 1, "sent": 2}
        [failed] = reach.dispatch.failed("care")
        assert failed.reason == "blocked number"
        sent = reach.dispatch.sent("care")
        assert all(v.provider_id and v.provider_id.startswith("gw-") for v in sent)
    assert {m["phone"] for m in gateway.accepted.values()} == {vinaphone(1), vinaphone(2)}
    assert {m["type"] for m in gateway.accepted.values()} == {"care"}
    assert {m["brandname"] for m in gateway.accepted.values()} == {"SHOP"}
    assert set(gateway.auth_seen) == {f"Bearer {KEY}"}


def test_gateway_ads_wait_for_reports_that_only_move_forward(
    url: str, clock: Clock, gateway: Gateway
) -> None:
    with gateway_reach(url, clock, gateway) as reach:
        make_campaign(reach, "promo", [vinaphone(1), vinaphone(2)], kind="ads")
        assert reach.dispatch.run(until_idle=True).states == {"accepted": 2}
        assert reach.campaigns.get("promo").state is CampaignState.completed
        first, second = reach.dispatch.sent("promo")
        clock.advance(days=3)
        assert reach.dispatch.ingest_delivery_report(
            {"provider_id": first.provider_id, "status": "delivered", "at": "2026-11-05T09:00:00"}
        )
        assert reach.dispatch.ingest_delivery_report(
            DeliveryReport(MessageState.failed, client_id=second.client_id, reason="unreachable")
        )
        # a late "failed" for a delivered message changes nothing
        assert reach.dispatch.ingest_delivery_report(
            {"client_id": first.client_id, "status": "failed", "reason": "late"}
        )
        assert not reach.dispatch.ingest_delivery_report(
            {"provider_id": "gw-unknown", "status": "delivered"}
        )
        states = {v.id: (v.state, v.reason) for v in reach.dispatch.messages("promo")}
        assert states == {first.id: ("delivered", None), second.id: ("failed", "unreachable")}
        [kept] = reach.dispatch.unmatched_reports()
        assert kept.provider_id == "gw-unknown"


def test_gateway_429_waits_for_retry_after(url: str, clock: Clock, gateway: Gateway) -> None:
    gateway.throttle(1, retry_after=30)
    with gateway_reach(url, clock, gateway) as reach:
        make_campaign(reach, "care", [vinaphone(n) for n in range(5)])
        assert reach.dispatch.run(until_idle=True).states == {"pending": 5}
        waiting = reach.dispatch.pending("care")
        assert all(
            v.due_at is not None and v.due_at >= clock.now + timedelta(seconds=30) for v in waiting
        )
        assert all("too many requests" in (v.reason or "") for v in waiting)
        assert len(gateway.accepted) == 0
        clock.now = max(v.due_at for v in waiting if v.due_at is not None)
        assert reach.dispatch.run(until_idle=True).states == {"sent": 5}
    assert len(gateway.accepted) == 5


def test_a_dead_workers_messages_are_sent_again_and_the_gateway_drops_them(
    url: str, clock: Clock, gateway: Gateway
) -> None:
    """A worker claimed and sent, then died before recording: after its lease the
    messages are claimed again and re-sent with the same client ids; the gateway sends
    none twice and the dispatcher records its first answers."""
    targets = [vinaphone(n) for n in range(6)]
    with gateway_reach(url, clock, gateway, lease_seconds=60) as reach:
        make_campaign(reach, "care", targets)
        claimed = reach.storage.claim_messages(
            worker="dead", now=clock.now, lease=timedelta(seconds=60), limit=4
        )
        campaign = reach.campaigns.get("care")
        channel = SmsHttpChannelFactory().create(
            {"url": gateway.url, "api_key_env": "K"}, {"K": KEY}
        )
        first = channel.send_batch(
            [
                OutgoingMessage(
                    message_id=m.id,
                    client_id=m.client_id,
                    campaign_id=m.campaign_id,
                    channel="sms",
                    kind="care",
                    target=m.target,
                    text="x",
                    brandname=campaign.brandname,
                )
                for m in claimed
            ]
        )
        channel.close()
        assert reach.dispatch.run(until_idle=True).states == {"sent": 2}  # the others are leased
        clock.advance(seconds=61)
        assert reach.dispatch.run(until_idle=True).states == {"sent": 4}
        by_id = {v.id: v.provider_id for v in reach.dispatch.sent("care")}
        assert {r.message_id: r.provider_id for r in first}.items() <= by_id.items()
    assert gateway.duplicates == 4
    assert len(gateway.accepted) == 6
