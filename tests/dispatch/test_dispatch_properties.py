"""Properties of the dispatcher driven with a fake clock on ``memory:``: for any
sequence of campaigns and clock steps, no Viettel subscriber gets more than its caps,
no advertising message goes outside its window, Decree 91's rolling cap holds, no
message goes twice, and every held message goes in the end."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
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

from massreach.adapters.send_window_policy import window_of
from massreach.config import QuotaConfig
from massreach.engine import Reach

LOCAL = timedelta(hours=7)
PHONES = [viettel(1), viettel(2), viettel(3), vinaphone(1)]
VIP = viettel(3)
EMAILS = ["an@example.com", "binh@example.com"]
WINDOWS = ["07:00-22:00", "22:00-06:00", "09:30-10:15"]
TABLES = {
    "recording": [
        *RECORDING_TABLES["recording"],
        {"name": "SHOP", "channel": "email"},
        {"name": "BANK", "channel": "email"},
    ]
}

campaign_step = st.tuples(
    st.just("campaign"),
    st.sampled_from(["care", "ads"]),
    st.sampled_from(["sms", "email"]),
    st.sampled_from(["SHOP", "BANK"]),
    st.integers(min_value=1, max_value=15),  # bit mask of the targets
)
clock_step = st.tuples(st.just("advance"), st.integers(min_value=1, max_value=4 * 24 * 60))
steps = st.lists(st.one_of(campaign_step, clock_step), min_size=1, max_size=8)


@st.composite
def quotas(draw: st.DrawFn) -> QuotaConfig:
    per_day = draw(st.integers(1, 3))
    vip_day = draw(st.integers(1, 2))
    return QuotaConfig(
        ads_per_day=per_day,
        ads_per_month=draw(st.integers(per_day, 8)),
        vip_ads_per_day=vip_day,
        vip_ads_per_month=draw(st.integers(vip_day, 5)),
        vip_numbers=[VIP],
    )


def check_caps(sent: list[tuple[datetime, str, str, str]], quota: QuotaConfig) -> None:
    per_day: Counter[tuple[str, object]] = Counter()
    per_month: Counter[tuple[str, object]] = Counter()
    for at, target, kind, _sender in sent:
        if kind == "ads" and target.startswith("+8496"):
            local = at + LOCAL
            per_day[target, local.date()] += 1
            per_month[target, (local.year, local.month)] += 1
    for (target, _), count in per_day.items():
        cap = quota.vip_ads_per_day if target == VIP else quota.ads_per_day
        assert count <= cap, (target, count)
    for (target, _), count in per_month.items():
        cap = quota.vip_ads_per_month if target == VIP else quota.ads_per_month
        assert count <= cap, (target, count)


def check_rolling_cap(sent: list[tuple[datetime, str, str, str]]) -> None:
    times: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for at, target, kind, sender in sent:
        if kind == "ads":
            times[sender, target.casefold()].append(at)
    for moments in times.values():
        moments.sort()
        for index, at in enumerate(moments):
            inside = [t for t in moments[: index + 1] if t > at - timedelta(hours=24)]
            assert len(inside) <= 3


@given(
    plan=steps,
    quota=quotas(),
    window=st.sampled_from(WINDOWS),
    start=st.integers(0, 30 * 24 * 60),
)
def test_caps_windows_and_once_only_hold_for_any_plan(
    plan: list[tuple[object, ...]], quota: QuotaConfig, window: str, start: int
) -> None:
    clock = Clock(NOW + timedelta(minutes=start))
    plugin = RecordingPlugin(clock)
    cfg = config(tables=TABLES, quota=quota, window=window)
    made = 0
    with Reach("memory:", config=cfg, clock=clock, plugins=[plugin]) as reach:
        for step in plan:
            if step[0] == "advance":
                clock.advance(minutes=float(step[1]))  # type: ignore[arg-type]
            else:
                _, kind, channel, brandname, mask = step
                pool = PHONES if channel == "sms" else EMAILS
                targets = [t for bit, t in enumerate(pool) if int(mask) >> bit & 1]  # type: ignore[call-overload]
                if not targets:
                    continue
                made += len(targets)
                make_campaign(
                    reach,
                    f"c{made}",
                    targets,
                    channel=channel,  # type: ignore[arg-type]
                    kind=str(kind),
                    brandname=str(brandname),
                    account=str(brandname) if channel == "email" else None,
                )
            reach.dispatch.run(until_idle=True)
        # every held message goes in the end: follow the clock to each next due time
        for _ in range(200):
            report = reach.dispatch.run(until_idle=True)
            if report.next_due is None:
                break
            clock.now = max(clock.now, report.next_due)
        else:
            raise AssertionError("messages still held after 200 steps")
    sent = [
        (at, m.target, str(m.kind), (m.brandname if m.channel == "sms" else m.account) or "")
        for at, m in plugin.sent()
    ]
    assert len(sent) == made
    assert len({m.client_id for _, m in plugin.sent()}) == made  # none twice
    check_caps(sent, quota)
    check_rolling_cap(sent)
    open_window = window_of(cfg.send_window)
    assert all(open_window.is_open(at) for at, _, kind, _ in sent if kind == "ads")
