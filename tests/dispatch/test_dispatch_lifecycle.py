"""Pause, resume and cancel a sending campaign: nothing is sent twice, nothing is
skipped, also when the campaign changes while a batch is on its way."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.dispatch.support import (
    RECORDING_TABLES,
    Clock,
    RecordingPlugin,
    config,
    make_campaign,
    viettel,
)

from massreach.config import DispatchConfig
from massreach.core.lifecycle import CampaignState
from massreach.engine import Reach
from massreach.markers import hookimpl
from massreach.model import Campaign, OutboxMessage
from massreach.policies import BasePolicy, PolicyContext, PolicyDecision, SendPolicy

TARGETS = [viettel(n) for n in range(30)]


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory:" if request.param == "memory" else f"sqlite:///{tmp_path / 'm.db'}"


class Interrupt(BasePolicy):
    """A policy (registered through a plugin) that runs ``action`` once, in the middle
    of a batch: the campaign changes between the claim and the send."""

    name = "interrupt"
    order = 0

    def __init__(self) -> None:
        self.action: Callable[[], object] | None = None

    def check(
        self, message: OutboxMessage, campaign: Campaign, ctx: PolicyContext
    ) -> PolicyDecision | None:
        action, self.action = self.action, None
        if action is not None:
            action()
        return None

    @hookimpl
    def massreach_register_policies(self, register: Callable[[SendPolicy], None]) -> None:
        register(self)


@pytest.fixture
def interrupt() -> Interrupt:
    return Interrupt()


@pytest.fixture
def plugin(clock: Clock) -> RecordingPlugin:
    return RecordingPlugin(clock)


@pytest.fixture
def reach(url: str, clock: Clock, plugin: RecordingPlugin, interrupt: Interrupt) -> Iterator[Reach]:
    cfg = config(tables=RECORDING_TABLES, dispatch=DispatchConfig(batch_size=5))
    with Reach(url, config=cfg, clock=clock, plugins=[plugin, interrupt]) as engine:
        make_campaign(engine, "care", TARGETS)
        yield engine


def sent_targets(plugin: RecordingPlugin) -> Counter[str]:
    return Counter(message.target for _, message in plugin.sent())


def test_pause_and_resume_send_everything_once(reach: Reach, plugin: RecordingPlugin) -> None:
    for _ in range(2):
        assert reach.dispatch.send_once().states == {"sent": 5}
    reach.campaigns.pause("care", role="manager")
    assert reach.dispatch.run(until_idle=True).states == {}
    assert reach.campaigns.get("care").state is CampaignState.paused
    assert sum(sent_targets(plugin).values()) == 10
    reach.campaigns.resume("care", role="manager")
    report = reach.dispatch.run(until_idle=True)
    assert report.states == {"sent": 20}
    assert report.completed == ("care",)
    assert sent_targets(plugin) == Counter(TARGETS)


def test_a_pause_during_a_batch_gives_the_batch_back(
    reach: Reach, plugin: RecordingPlugin, interrupt: Interrupt
) -> None:
    interrupt.action = lambda: reach.campaigns.pause("care", role="manager")
    report = reach.dispatch.send_once()
    assert report.states == {"pending": 5}
    assert report.claimed == 5
    assert plugin.sent() == []
    assert reach.dispatch.summary("care").counts == {"pending": 30}
    assert all(v.attempts == 0 for v in reach.dispatch.messages("care"))
    reach.campaigns.resume("care", role="manager")
    assert reach.dispatch.run(until_idle=True).states == {"sent": 30}
    assert sent_targets(plugin) == Counter(TARGETS)


def test_cancel_stops_what_waits(reach: Reach, plugin: RecordingPlugin) -> None:
    assert reach.dispatch.send_once().states == {"sent": 5}
    reach.campaigns.cancel("care", role="manager")
    assert reach.dispatch.run(until_idle=True).states == {}
    assert reach.dispatch.summary("care").counts == {"sent": 5, "cancelled": 25}
    assert sum(sent_targets(plugin).values()) == 5


def test_a_cancel_during_a_batch_cancels_the_batch(
    reach: Reach, plugin: RecordingPlugin, interrupt: Interrupt
) -> None:
    assert reach.dispatch.send_once().states == {"sent": 5}
    interrupt.action = lambda: reach.campaigns.cancel("care", role="manager")
    report = reach.dispatch.send_once()
    assert report.states == {"cancelled": 5}
    assert reach.dispatch.summary("care").counts == {"sent": 5, "cancelled": 25}
    assert sum(sent_targets(plugin).values()) == 5
    assert reach.campaigns.get("care").state is CampaignState.cancelled
