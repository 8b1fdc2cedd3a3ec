"""Send policies one by one: decisions, order, reservations given back, counters that
survive a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.dispatch.support import NOW, config, viettel, vinaphone

from massreach.adapters.memory_storage import MemoryStorage
from massreach.adapters.opt_out_policy import OptOutPolicy
from massreach.adapters.quota_policy import (
    QuotaPolicy,
    decree91_key,
    viettel_counter_keys,
    viettel_usage,
)
from massreach.adapters.send_window_policy import SendWindowPolicy
from massreach.config import DispatchConfig, QuotaConfig
from massreach.core.lifecycle import CampaignKind, CampaignState
from massreach.engine import Reach
from massreach.errors import InvalidInput
from massreach.model import Campaign, OutboxMessage
from massreach.policies import (
    BasePolicy,
    PolicyChain,
    PolicyContext,
    PolicyDecision,
    Reservation,
)
from massreach.storage import Storage

VN = timedelta(hours=7)


def campaign(kind: str = "ads", channel: str = "sms", brandname: str = "SHOP") -> Campaign:
    return Campaign(
        id=1,
        name="c",
        channel=channel,  # type: ignore[arg-type]
        kind=CampaignKind(kind),
        template="t",
        state=CampaignState.sending,
        brandname=brandname if channel == "sms" else None,
        account=None if channel == "sms" else "default",
    )


def message(target: str, mid: int = 1) -> OutboxMessage:
    return OutboxMessage(id=mid, campaign_id=1, target=target)


def ctx(storage: Storage, now: datetime = NOW, **options: object) -> PolicyContext:
    return PolicyContext(now=now, storage=storage, config=config(**options))  # type: ignore[arg-type]


@pytest.fixture
def storage() -> Storage:
    return MemoryStorage("memory:")


# -- decisions -----------------------------------------------------------------------------


def test_decisions_check_their_parts() -> None:
    with pytest.raises(InvalidInput) as error:
        PolicyDecision("hold", reason="x")
    assert error.value.code == "policy.hold_without_time"
    with pytest.raises(InvalidInput):
        PolicyDecision("drop")
    with pytest.raises(InvalidInput):
        PolicyDecision("hold", until=datetime(2026, 1, 1), reason="naive")
    with pytest.raises(InvalidInput):
        PolicyDecision("drop", reason="x", reservation=Reservation())
    with pytest.raises(ValueError):
        PolicyDecision("later")  # type: ignore[arg-type]
    assert PolicyDecision.hold(NOW, "r").until == NOW


class Named(BasePolicy):
    def __init__(self, name: str, order: int, answer: PolicyDecision | None) -> None:
        self.name = name
        self.order = order
        self.answer = answer
        self.released: list[PolicyDecision] = []

    def check(
        self, message: OutboxMessage, campaign: Campaign, ctx: PolicyContext
    ) -> PolicyDecision | None:
        return self.answer

    def release(
        self,
        message: OutboxMessage,
        campaign: Campaign,
        decision: PolicyDecision,
        ctx: PolicyContext,
    ) -> None:
        self.released.append(decision)


def test_chain_orders_replaces_by_name_and_gives_back_on_hold(storage: Storage) -> None:
    reserving = Named("reserving", 5, PolicyDecision.send(Reservation(counters=("k",))))
    holding = Named("holding", 20, PolicyDecision.hold(NOW + timedelta(hours=1), "wait: later"))
    silent = Named("silent", 1, None)
    replaced = Named("holding", 20, None)
    chain = PolicyChain([holding, replaced, silent, reserving])
    assert chain.names == ("silent", "reserving", "holding")  # the later "holding" won
    verdict = chain.decide(message(viettel(1)), campaign(), ctx(storage))
    assert verdict.action == "send"
    assert len(verdict.taken) == 1
    chain = PolicyChain([silent, reserving, holding])
    verdict = chain.decide(message(viettel(1)), campaign(), ctx(storage))
    assert verdict.action == "hold" and verdict.policy == "holding"
    assert verdict.decision.reason == "wait: later"
    assert reserving.released == [reserving.answer]  # given back at once
    assert verdict.taken == ()


def test_builtin_policies_are_registered_in_order() -> None:
    with Reach("memory:") as reach:
        chain = PolicyChain(reach.hooks.policies())
    assert chain.names == ("opt_out", "send_window", "quota")


# -- opt-out -------------------------------------------------------------------------------


def test_opt_out_drops_phones_and_emails_case_insensitively(storage: Storage) -> None:
    storage.add_opt_outs([viettel(1), "An@Example.com"], now=NOW)
    policy, context = OptOutPolicy(), ctx(storage)
    batch = [
        (message(viettel(1)), campaign()),
        (message("an@example.COM", 2), campaign("care", "email")),
    ]
    policy.prepare(batch, context)
    for item, camp in batch:
        decision = policy.check(item, camp, context)
        assert decision is not None and decision.action == "drop"
        assert decision.reason is not None and decision.reason.startswith("opt_out")
    assert policy.check(message(viettel(2)), campaign("care"), context) is None
    # without prepare, one lookup per message
    assert policy.check(message(viettel(1)), campaign(), ctx(storage)) is not None


# -- send window ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "held_until_local"),
    [
        (datetime(2026, 11, 2, 6, 59), datetime(2026, 11, 2, 7, 0)),
        (datetime(2026, 11, 2, 22, 0), datetime(2026, 11, 3, 7, 0)),
        (datetime(2026, 11, 2, 23, 30), datetime(2026, 11, 3, 7, 0)),
        (datetime(2026, 11, 2, 0, 0), datetime(2026, 11, 2, 7, 0)),
    ],
)
def test_window_holds_ads_until_it_opens(
    storage: Storage, local: datetime, held_until_local: datetime
) -> None:
    now = local.replace(tzinfo=UTC) - VN
    decision = SendWindowPolicy().check(message(viettel(1)), campaign("ads"), ctx(storage, now))
    assert decision is not None and decision.action == "hold"
    assert decision.until == held_until_local.replace(tzinfo=UTC) - VN
    assert decision.reason is not None and "07:00-22:00 Asia/Ho_Chi_Minh" in decision.reason


def test_window_lets_care_go_any_time_and_ads_inside(storage: Storage) -> None:
    night = datetime(2026, 11, 2, 23, 0, tzinfo=UTC) - VN
    assert (
        SendWindowPolicy().check(message(viettel(1)), campaign("care"), ctx(storage, night)) is None
    )
    for hour, minute in ((7, 0), (12, 0), (21, 59)):
        at = datetime(2026, 11, 2, hour, minute, tzinfo=UTC) - VN
        assert (
            SendWindowPolicy().check(message(viettel(1)), campaign("ads"), ctx(storage, at)) is None
        )
        email = campaign("ads", "email")
        assert SendWindowPolicy().check(message("a@example.com"), email, ctx(storage, at)) is None


def test_window_from_the_configuration(storage: Storage) -> None:
    at = datetime(2026, 11, 2, 23, 0, tzinfo=UTC) - VN
    context = ctx(storage, at, window="22:30-06:00")
    assert SendWindowPolicy().check(message(viettel(1)), campaign("ads"), context) is None


# -- quota -----------------------------------------------------------------------------------


def send_decision(
    storage: Storage, target: str, now: datetime = NOW, **options: object
) -> PolicyDecision:
    decision = QuotaPolicy().check(message(target), campaign(), ctx(storage, now, **options))
    assert decision is not None
    return decision


def test_viettel_day_cap_holds_until_local_midnight(storage: Storage) -> None:
    for _ in range(2):
        assert send_decision(storage, viettel(1)).action == "send"
    held = send_decision(storage, viettel(1))
    assert held.action == "hold" and held.reason is not None
    assert held.reason.startswith("quota.day_cap")
    assert held.until == datetime(2026, 11, 3, tzinfo=UTC) - VN
    assert viettel_usage(storage, [viettel(1), viettel(2)], NOW) == {
        viettel(1): (2, 2),
        viettel(2): (0, 0),
    }


def test_viettel_month_cap_holds_until_next_month(storage: Storage) -> None:
    day, month = viettel_counter_keys(viettel(1), NOW)
    for _ in range(8):
        storage.reserve_counters([(month, 100)])
    held = send_decision(storage, viettel(1))
    assert held.action == "hold" and held.reason is not None
    assert held.reason.startswith("quota.month_cap")
    assert held.until == datetime(2026, 12, 1, tzinfo=UTC) - VN
    assert storage.counter_values([day]) == {day: 0}  # nothing reserved for a held message


def test_vip_numbers_get_vip_caps(storage: Storage) -> None:
    quota = QuotaConfig(vip_numbers=[viettel(7)])
    assert send_decision(storage, viettel(7), quota=quota).action == "send"
    assert send_decision(storage, viettel(7), quota=quota).action == "hold"
    zero = QuotaConfig(vip_ads_per_day=0, vip_ads_per_month=0, vip_numbers=[viettel(8)])
    dropped = send_decision(storage, viettel(8), quota=zero)
    assert dropped.action == "drop" and dropped.reason is not None
    assert dropped.reason.startswith("quota.cap_zero")


def test_other_networks_only_meet_the_rolling_cap(storage: Storage) -> None:
    for _ in range(3):
        assert send_decision(storage, vinaphone(1)).action == "send"
    held = send_decision(storage, vinaphone(1))
    assert held.action == "hold" and held.reason is not None
    assert held.reason.startswith("quota.rolling_cap")
    assert held.until == NOW + timedelta(hours=24)
    assert send_decision(storage, vinaphone(1), NOW + timedelta(hours=24)).action == "send"
    # another sender has its own window
    other = QuotaPolicy().check(message(vinaphone(1)), campaign(brandname="OTHER"), ctx(storage))
    assert other is not None and other.action == "send"


def test_rolling_cap_from_the_configuration(storage: Storage) -> None:
    one = DispatchConfig(decree91_per_24h=1)
    assert send_decision(storage, vinaphone(2), dispatch=one).action == "send"
    assert send_decision(storage, vinaphone(2), dispatch=one).action == "hold"


def test_a_rolling_cap_hold_gives_back_the_viettel_counters(storage: Storage) -> None:
    key = decree91_key("sms", "SHOP", viettel(3))
    for hour in range(3):
        storage.reserve_window(
            key, now=NOW - timedelta(hours=hour + 1), window=timedelta(hours=24), limit=3
        )
    held = send_decision(storage, viettel(3))
    assert held.action == "hold" and held.reason is not None and "rolling" in held.reason
    assert viettel_usage(storage, [viettel(3)], NOW) == {viettel(3): (0, 0)}


def test_care_messages_are_not_counted(storage: Storage) -> None:
    for _ in range(5):
        assert QuotaPolicy().check(message(viettel(1)), campaign("care"), ctx(storage)) is None
    assert viettel_usage(storage, [viettel(1)], NOW) == {viettel(1): (0, 0)}


def test_email_ads_meet_the_rolling_cap_per_account(storage: Storage) -> None:
    email = campaign("ads", "email")
    for _ in range(3):
        decision = QuotaPolicy().check(message("A@x.com"), email, ctx(storage))
        assert decision is not None and decision.action == "send"
    held = QuotaPolicy().check(message("a@X.com"), email, ctx(storage))
    assert held is not None and held.action == "hold"


def test_release_gives_back_counters_and_window(storage: Storage) -> None:
    policy, context = QuotaPolicy(), ctx(storage)
    decisions = [send_decision(storage, viettel(4)) for _ in range(2)]
    assert send_decision(storage, viettel(4)).action == "hold"
    policy.release(message(viettel(4)), campaign(), decisions[0], context)
    assert viettel_usage(storage, [viettel(4)], NOW) == {viettel(4): (1, 1)}
    again = send_decision(storage, viettel(4))
    assert again.action == "send"
    reservation = again.reservation
    assert reservation is not None
    assert reservation.windows == ((decree91_key("sms", "SHOP", viettel(4)), NOW),)
    # the window gave its events back too: after releasing both, three fit again
    for decision in (again, decisions[1]):
        policy.release(message(viettel(4)), campaign(), decision, context)
    assert viettel_usage(storage, [viettel(4)], NOW) == {viettel(4): (0, 0)}
    key = decree91_key("sms", "SHOP", viettel(4))
    window = timedelta(hours=24)
    for _ in range(3):
        assert storage.reserve_window(key, now=NOW, window=window, limit=3) is None
    assert storage.reserve_window(key, now=NOW, window=window, limit=3) is not None


def test_counters_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    with Reach(url) as reach:
        for _ in range(2):
            assert send_decision(reach.storage, viettel(5)).action == "send"
    with Reach(url) as reach:
        held = send_decision(reach.storage, viettel(5))
        assert held.action == "hold"
        assert viettel_usage(reach.storage, [viettel(5)], NOW) == {viettel(5): (2, 2)}
