"""The campaign preview says how many advertising SMS the Viettel quotas let through now,
and on which day the rest can go."""

from __future__ import annotations

from datetime import UTC, date, datetime

from massreach import Reach
from massreach.adapters.quota_policy import viettel_counter_keys
from massreach.model import ContactDraft

# 10:00 in Hanoi, inside the advertising window
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
VIETTEL = ["+84961000001", "+84961000002", "+84961000003"]
OTHER = "+84912000004"  # VinaPhone: no Viettel quota


def _campaign(reach: Reach, *, kind: str = "ads") -> None:
    target = reach.storage.create_list("ads", feed="csv", created_by=None, now=NOW)  # type: ignore[arg-type]
    reach.storage.add_contacts(
        [
            ContactDraft(target.id, phone=p, name=f"K{i}", tags=("t",))
            for i, p in enumerate([*VIETTEL, OTHER])
        ],
        now=NOW,
    )
    reach.campaigns.add_template(
        "km", "sms", "Khuyen mai cho {name}", registered=True, brandname="SHOP"
    )
    reach.campaigns.create(
        "km",
        channel="sms",
        kind=kind,
        template="km",
        list_name="ads",
        brandname="SHOP",
        user="lan",
        role="manager",
    )


def _use(reach: Reach, phone: str, times: int) -> None:
    day, month = viettel_counter_keys(phone, NOW)
    for _ in range(times):
        assert reach.storage.reserve_counters([(day, 100), (month, 100)])


def test_forecast_counts_what_passes_now_and_when_the_rest_can_go() -> None:
    with Reach("memory:", autoload=False, env={}, clock=lambda: NOW) as reach:
        _campaign(reach)
        _use(reach, VIETTEL[0], 2)  # day cap (2) reached: tomorrow
        _, month = viettel_counter_keys(VIETTEL[1], NOW)
        for _ in range(8):  # month cap (8) reached: the first of next month
            assert reach.storage.reserve_counters([(month, 100)])
        preview = reach.campaigns.preview("km")
        q = preview.quota
        assert q is not None
        assert (q.total, q.now, q.held, q.never) == (4, 2, 2, 0)
        assert dict(q.by_day) == {date(2026, 11, 24): 1, date(2026, 12, 1): 1}


def test_outside_the_window_everything_starts_at_the_next_opening() -> None:
    late = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 23:00 in Hanoi
    with Reach("memory:", autoload=False, env={}, clock=lambda: late) as reach:
        _campaign(reach)
        q = reach.campaigns.preview("km").quota
        assert q is not None
        assert q.start == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 07:00 in Hanoi
        assert q.now == 4


def test_customer_care_has_no_quota_forecast() -> None:
    with Reach("memory:", autoload=False, env={}, clock=lambda: NOW) as reach:
        _campaign(reach, kind="care")
        assert reach.campaigns.preview("km").quota is None
