"""Delivery report parsing, the run report, and the retry delays."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.errors import InvalidInput
from massreach.model import MessageState
from massreach.services.dispatch_outcomes import DispatchReport, retry_delay
from massreach.services.dispatch_reports import parse_report, read_report_lines


def test_a_report_by_provider_or_client_id() -> None:
    report = parse_report({"provider_id": 123, "status": "delivered", "at": "2026-11-05T08:00"})
    assert report.provider_id == "123" and report.state is MessageState.delivered
    assert report.at == datetime(2026, 11, 5, 1, 0, tzinfo=UTC)  # Vietnam time by default
    report = parse_report({"client_id": "mr-1-2", "status": "failed", "reason": "gone"})
    assert (report.client_id, report.state, report.reason) == (
        "mr-1-2",
        MessageState.failed,
        "gone",
    )
    assert report.raw is not None and "mr-1-2" in report.raw
    utc = parse_report({"client_id": "x", "status": "failed", "at": "2026-11-05T08:00"}, zone="UTC")
    assert utc.at == datetime(2026, 11, 5, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"status": "delivered"}, None),
        ({"client_id": "x", "status": "sent"}, "status"),
        ({"client_id": "x", "status": "delivered", "at": "yesterday"}, "at"),
        ({"client_id": "x", "status": "delivered", "reason": 5}, "reason"),
        ({"client_id": "x", "status": "delivered", "extra": 1}, "extra"),
        ({"client_id": ["x"], "status": "delivered"}, "client_id"),
    ],
)
def test_what_is_not_a_report(document: dict[str, object], key: str | None) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_report(document)
    assert error.value.code == "report.invalid"
    assert error.value.details.get("key") == key


def test_report_lines_skip_blank_ones() -> None:
    assert list(read_report_lines(["a\n", "  \n", "b"])) == [(1, "a\n"), (3, "b")]


def test_reports_of_workers_add_up() -> None:
    due = datetime(2026, 11, 5, tzinfo=UTC)
    one = DispatchReport(states={"sent": 2}, claimed=2, batches=1, completed=("a",), next_due=due)
    two = DispatchReport(
        states={"sent": 1, "held": 1}, claimed=2, batches=1, completed=("a", "b"), lost=1
    )
    both = one.merged(two)
    assert both.states == {"sent": 3, "held": 1}
    assert (both.claimed, both.batches, both.lost, both.workers) == (4, 2, 1, 2)
    assert both.completed == ("a", "b")
    assert both.next_due == due and both.total == 4


@given(
    attempts=st.integers(1, 200),
    base=st.floats(1.1, 10),
    cap=st.floats(1, 86400),
    seed=st.integers(0, 2**32),
)
def test_retry_delays_grow_with_jitter_up_to_the_cap(
    attempts: int, base: float, cap: float, seed: int
) -> None:
    delay = retry_delay(attempts, base, cap, random.Random(seed))
    try:
        full = min(cap, base**attempts)
    except OverflowError:
        full = cap
    assert full * 0.5 <= delay <= full
    assert timedelta(seconds=delay) <= timedelta(seconds=cap)
