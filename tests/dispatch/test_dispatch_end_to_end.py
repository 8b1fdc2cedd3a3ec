"""The dispatcher end to end on ``memory:`` and SQLite: the file outbox, the send window,
opt-outs, rendering failures, retries with backoff, scheduled campaigns, rate slots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.dispatch.support import (
    NOW,
    RECORDING_TABLES,
    Clock,
    RecordingPlugin,
    config,
    make_campaign,
    viettel,
    vinaphone,
)

from massreach.adapters.quota_policy import viettel_usage
from massreach.channels import OutgoingMessage, SendResult, SendStatus
from massreach.config import DispatchConfig
from massreach.core.lifecycle import CampaignState
from massreach.engine import Reach
from massreach.errors import InvalidInput
from massreach.markers import hookimpl
from massreach.model import MessageOutcome, MessageState, OutboxMessage, Template
from massreach.services.dispatch import DispatchService

VN = timedelta(hours=7)


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory:" if request.param == "memory" else f"sqlite:///{tmp_path / 'm.db'}"


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def reach(url: str, outbox: Path, clock: Clock) -> Iterator[Reach]:
    cfg = config(outbox=outbox, dispatch=DispatchConfig(batch_size=10))
    with Reach(url, config=cfg, clock=clock) as engine:
        yield engine


def written(outbox: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for path in sorted(outbox.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def test_every_message_goes_once_and_the_campaign_completes(reach: Reach, outbox: Path) -> None:
    targets = [viettel(n) for n in range(25)]
    make_campaign(reach, "care", targets)
    report = reach.dispatch.run(until_idle=True)
    assert report.states == {"sent": 25}
    assert report.batches == 3
    assert report.completed == ("care",)
    lines = written(outbox)
    assert sorted(str(line["target"]) for line in lines) == sorted(targets)
    assert len({line["client_id"] for line in lines}) == 25
    assert lines[0]["text"] == "Chào Khách 0, đơn hàng của bạn đã sẵn sàng."
    assert reach.campaigns.get("care").state is CampaignState.completed
    assert len(reach.dispatch.sent("care")) == 25
    assert reach.dispatch.pending("care") == []
    assert reach.dispatch.run(until_idle=True).states == {}
    assert len(written(outbox)) == 25


def test_advertising_waits_for_the_window(reach: Reach, outbox: Path, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 2, 23, 0, tzinfo=UTC) - VN
    make_campaign(reach, "promo", [vinaphone(n) for n in range(3)], kind="ads")
    report = reach.dispatch.run(until_idle=True)
    opening = datetime(2026, 11, 3, 7, 0, tzinfo=UTC) - VN
    assert report.states == {"held": 3}
    assert report.next_due == opening
    assert written(outbox) == []
    held = reach.dispatch.pending("promo")
    assert {v.state for v in held} == {"held"}
    assert all(v.due_at == opening for v in held)
    assert all((v.reason or "").startswith("send_window.closed") for v in held)
    assert "+849****0000" in {v.target for v in held}  # masked in views
    clock.now = opening - timedelta(seconds=1)
    assert reach.dispatch.run(until_idle=True).states == {}  # not due yet
    clock.now = opening
    assert reach.dispatch.run(until_idle=True).states == {"sent": 3}
    assert reach.campaigns.get("promo").state is CampaignState.completed
    lines = written(outbox)
    assert all(str(line["text"]).startswith("[QC]") for line in lines)


def test_opt_out_while_sending_drops_with_the_reason(reach: Reach) -> None:
    make_campaign(reach, "care", [viettel(1), viettel(2)])
    assert reach.dispatch.opt_out("096 000 0002")
    assert not reach.dispatch.opt_out("+84960000002")  # already there
    report = reach.dispatch.run(until_idle=True)
    assert report.states == {"failed": 1, "sent": 1}
    failed = reach.dispatch.failed("care")
    assert [v.reason for v in failed] == ["opt_out: the recipient asked not to receive messages"]
    summary = reach.dispatch.summary("care")
    assert summary.counts == {"sent": 1, "failed": 1}
    assert summary.reasons["failed"] == {failed[0].reason: 1}
    with pytest.raises(InvalidInput) as error:
        reach.dispatch.opt_out("not a target")
    assert error.value.code == "opt_out.invalid_target"
    assert reach.dispatch.remove_opt_out("0960000002")


def test_a_message_that_no_longer_renders_fails_with_the_code(reach: Reach) -> None:
    campaign = make_campaign(reach, "care", [viettel(1)])
    old = reach.storage.get_template(campaign.template)
    assert old is not None
    reach.storage.save_template(
        Template(old.name, "sms", "Chào {missing}", registered=True, brandname="SHOP")
    )
    assert reach.dispatch.run(until_idle=True).states == {"failed": 1}
    [view] = reach.dispatch.failed("care")
    assert view.reason is not None and view.reason.startswith("template.")


def test_an_unconfigured_account_waits_and_says_why(reach: Reach) -> None:
    make_campaign(reach, "mail", ["a@example.com"], channel="email", account="nowhere")
    report = reach.dispatch.run(until_idle=True)
    assert report.states == {"held": 1}
    [view] = reach.dispatch.pending("mail")
    assert view.reason is not None and view.reason.startswith("channel.not_configured")


def test_scheduled_campaigns_start_when_their_time_comes(reach: Reach, clock: Clock) -> None:
    make_campaign(reach, "later", [viettel(1)], scheduled_at=NOW + timedelta(hours=1))
    assert reach.campaigns.get("later").state is CampaignState.scheduled
    assert reach.dispatch.run(until_idle=True).states == {}
    clock.advance(hours=1)
    assert reach.dispatch.run(until_idle=True).states == {"sent": 1}
    assert reach.campaigns.get("later").state is CampaignState.completed


def test_memory_storage_allows_one_worker() -> None:
    with Reach("memory:") as reach, pytest.raises(InvalidInput) as error:
        reach.dispatch.run(workers=2)
    assert error.value.code == "dispatch.memory_workers"


# -- a recording channel: retries, reservations, hooks ------------------------------------


class Outcomes:
    """A plugin hearing every recorded outcome."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []

    @hookimpl
    def massreach_message_outcome(self, message: OutboxMessage, outcome: MessageOutcome) -> None:
        self.seen.append((message.id, MessageState(outcome.state).value))


class Flaky:
    """Answers temporary for the first ``failures`` attempts of each message."""

    def __init__(self, failures: int, retry_after: float | None = None) -> None:
        self.failures = failures
        self.retry_after = retry_after
        self.tries: dict[int, int] = {}

    def __call__(self, message: OutgoingMessage) -> SendResult:
        tries = self.tries[message.message_id] = self.tries.get(message.message_id, 0) + 1
        if tries <= self.failures:
            return SendResult(
                message.message_id,
                SendStatus.TEMPORARY,
                reason="busy",
                retry_after=self.retry_after,
            )
        return SendResult(message.message_id, SendStatus.SENT)


def recording_reach(url: str, clock: Clock, plugin: RecordingPlugin, **dispatch: int) -> Reach:
    cfg = config(tables=RECORDING_TABLES, dispatch=DispatchConfig(**dispatch))
    return Reach(url, config=cfg, clock=clock, plugins=[plugin, Outcomes()])


def test_temporary_failures_back_off_then_go(url: str, clock: Clock) -> None:
    flaky = Flaky(failures=2)
    plugin = RecordingPlugin(clock, flaky)
    with recording_reach(url, clock, plugin, max_attempts=5) as reach:
        make_campaign(reach, "care", [viettel(1)])
        for attempt in (1, 2):
            report = reach.dispatch.run(until_idle=True)
            assert report.states == {"pending": 1}
            [view] = reach.dispatch.pending("care")
            assert view.reason == f"retry {attempt}/4: busy"
            assert view.due_at is not None
            delay = (view.due_at - clock.now).total_seconds()
            assert 2**attempt * 0.5 <= delay <= 2**attempt
            assert report.next_due == view.due_at
            clock.now = view.due_at
        assert reach.dispatch.run(until_idle=True).states == {"sent": 1}
        [view] = reach.dispatch.sent("care")
        assert view.attempts == 3


def test_retry_after_is_respected_and_attempts_run_out(url: str, clock: Clock) -> None:
    plugin = RecordingPlugin(clock, Flaky(failures=99, retry_after=600))
    with recording_reach(url, clock, plugin, max_attempts=3) as reach:
        make_campaign(reach, "care", [viettel(1)])
        for _ in range(2):
            reach.dispatch.run(until_idle=True)
            [view] = reach.dispatch.pending("care")
            assert view.due_at is not None
            assert view.due_at >= clock.now + timedelta(seconds=600)
            clock.now = view.due_at
        assert reach.dispatch.run(until_idle=True).states == {"failed": 1}
        [view] = reach.dispatch.failed("care")
        assert view.reason == "gave up after 3 attempts: busy"
        assert plugin.sent() == []
        assert reach.campaigns.get("care").state is CampaignState.completed


def test_a_temporary_failure_gives_back_the_quota(url: str, clock: Clock) -> None:
    plugin = RecordingPlugin(clock, Flaky(failures=1))
    with recording_reach(url, clock, plugin) as reach:
        make_campaign(reach, "promo", [viettel(1)], kind="ads")
        reach.dispatch.run(until_idle=True)
        assert viettel_usage(reach.storage, [viettel(1)], clock.now) == {viettel(1): (0, 0)}
        [view] = reach.dispatch.pending("promo")
        assert view.due_at is not None
        clock.now = view.due_at
        assert reach.dispatch.run(until_idle=True).states == {"sent": 1}
        assert viettel_usage(reach.storage, [viettel(1)], clock.now) == {viettel(1): (1, 1)}


def test_permanent_failures_fail_with_the_reason_and_plugins_hear(url: str, clock: Clock) -> None:
    def refuse(message: OutgoingMessage) -> SendResult:
        return SendResult(message.message_id, SendStatus.PERMANENT, reason="blocked number")

    plugin = RecordingPlugin(clock, refuse)
    with recording_reach(url, clock, plugin) as reach:
        make_campaign(reach, "care", [viettel(1), viettel(2)])
        assert reach.dispatch.run(until_idle=True).states == {"failed": 2}
        assert {v.reason for v in reach.dispatch.failed("care")} == {"blocked number"}
        [listener] = [p for p in reach.plugin_manager.get_plugins() if isinstance(p, Outcomes)]
        assert sorted(state for _, state in listener.seen) == ["failed", "failed"]


def test_a_channel_that_raises_is_a_temporary_failure(url: str, clock: Clock) -> None:
    def explode(message: OutgoingMessage) -> SendResult:
        raise RuntimeError("bug in a plugin")

    plugin = RecordingPlugin(clock, explode)
    with recording_reach(url, clock, plugin) as reach:
        make_campaign(reach, "care", [viettel(1)])
        assert reach.dispatch.run(until_idle=True).states == {"pending": 1}
        [view] = reach.dispatch.pending("care")
        assert view.reason == "retry 1/4: channel.error: RuntimeError: bug in a plugin"


def test_shared_rate_slots_pace_the_sends(url: str, clock: Clock) -> None:
    tables = {"recording": [{"name": "default", "channel": "sms", "rate_per_second": 4}]}
    plugin = RecordingPlugin(clock)
    waits: list[float] = []
    with Reach(url, config=config(tables=tables), clock=clock, plugins=[plugin]) as reach:
        make_campaign(reach, "care", [viettel(n) for n in range(10)])
        service = DispatchService(reach.context, sleep=waits.append)
        assert service.run(until_idle=True).states == {"sent": 10}
        service.close()
    # chunks of 4 messages, each waiting for its last slot (slots 0.25 s apart)
    assert waits == [0.75, 1.75, 2.25]
