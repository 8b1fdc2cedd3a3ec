"""Conformance rules for counters, windows, rate slots and opt-outs (StorageConformance)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from massreach.errors import InvalidInput
from massreach.storage import Storage
from massreach.testing.storage_base import StorageTestBase

__all__ = ["LimitRules"]

_HOUR = timedelta(hours=1)
_MINUTE = timedelta(minutes=1)


class LimitRules(StorageTestBase):
    """Quota counters all or nothing; rolling windows; rate slots 1/rate apart; opt-outs."""

    def test_reserve_counters_all_or_nothing(self, storage: Storage) -> None:
        """Every counter below its limit: each gains one; otherwise none changes."""
        day, month = "viettel:+84907000001:2026-03-02", "viettel:+84907000001:2026-03"
        assert storage.counter_values([day, month]) == {day: 0, month: 0}
        assert storage.reserve_counters([(day, 2), (month, 5)]) is True
        assert storage.reserve_counters([(day, 2), (month, 5)]) is True
        assert storage.reserve_counters([(day, 2), (month, 5)]) is False
        assert storage.counter_values([day, month]) == {day: 2, month: 2}
        assert storage.reserve_counters([(month, 5)]) is True
        assert storage.reserve_counters([]) is True
        assert storage.counter_values([month, "other"]) == {month: 3, "other": 0}

    def test_release_counters(self, storage: Storage) -> None:
        """release takes one back from each counter, never below zero."""
        storage.reserve_counters([("a", 3), ("b", 3)])
        storage.reserve_counters([("a", 3)])
        storage.release_counters(["a", "b", "never-used"])
        assert storage.counter_values(["a", "b", "never-used"]) == {"a": 1, "b": 0, "never-used": 0}
        storage.release_counters(["b"])
        assert storage.counter_values(["b"]) == {"b": 0}
        assert storage.reserve_counters([("b", 1)]) is True

    def test_concurrent_reservations_respect_the_limit(self, storage: Storage) -> None:
        """Reservations from several threads at once never pass the limit."""
        granted: list[bool] = []
        errors: list[BaseException] = []

        def reserve() -> None:
            try:
                for _ in range(10):
                    granted.append(storage.reserve_counters([("shared", 25)]))
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=reserve) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert granted.count(True) == 25
        assert storage.counter_values(["shared"]) == {"shared": 25}

    def test_reserve_window_is_rolling(self, storage: Storage, clock_start: datetime) -> None:
        """At most ``limit`` events in any ``(now - window, now]``; a refusal says
        when one more fits, and records nothing."""
        t0 = clock_start
        assert storage.reserve_window("k", now=t0, window=_HOUR, limit=2) is None
        assert storage.reserve_window("k", now=t0 + 10 * _MINUTE, window=_HOUR, limit=2) is None
        assert storage.reserve_window("k", now=t0 + 20 * _MINUTE, window=_HOUR, limit=2) == (
            t0 + _HOUR
        )
        assert (
            storage.reserve_window("k", now=t0 + _HOUR - _MINUTE, window=_HOUR, limit=2)
            == t0 + _HOUR
        )
        assert storage.reserve_window("k", now=t0 + _HOUR, window=_HOUR, limit=2) is None
        assert storage.reserve_window("k", now=t0 + _HOUR, window=_HOUR, limit=2) == (
            t0 + 10 * _MINUTE + _HOUR
        )
        assert storage.reserve_window("other", now=t0, window=_HOUR, limit=1) is None
        with pytest.raises(InvalidInput):
            storage.reserve_window("k", now=t0, window=_HOUR, limit=0)

    def test_release_window(self, storage: Storage, clock_start: datetime) -> None:
        """release_window gives back ONE event recorded at that time; False if none."""
        t0 = clock_start
        assert storage.reserve_window("k", now=t0, window=_HOUR, limit=2) is None
        assert storage.reserve_window("k", now=t0, window=_HOUR, limit=2) is None
        assert storage.reserve_window("k", now=t0, window=_HOUR, limit=2) == t0 + _HOUR
        assert storage.release_window("k", at=t0) is True
        assert storage.reserve_window("k", now=t0 + _MINUTE, window=_HOUR, limit=2) is None
        assert storage.release_window("k", at=t0 + _MINUTE) is True
        assert storage.release_window("k", at=t0 + _MINUTE) is False
        assert storage.release_window("k", at=t0 + 2 * _MINUTE) is False
        assert storage.release_window("other", at=t0) is False
        assert storage.release_window("k", at=t0) is True
        assert storage.reserve_window("k", now=t0 + _MINUTE, window=_HOUR, limit=1) is None

    def test_rate_slots_are_spaced(self, storage: Storage, clock_start: datetime) -> None:
        """Slots of one key are ``1 / rate`` seconds apart; a free slot means no wait."""
        t0 = clock_start
        waits = [storage.take_rate_slot("gw", rate_per_second=4.0, now=t0) for _ in range(3)]
        assert waits == pytest.approx([0.0, 0.25, 0.5])
        assert storage.take_rate_slot(
            "gw", rate_per_second=4.0, now=t0 + timedelta(seconds=0.6)
        ) == pytest.approx(0.15)
        assert storage.take_rate_slot("other", rate_per_second=4.0, now=t0) == 0.0
        assert (
            storage.take_rate_slot("gw", rate_per_second=4.0, now=t0 + timedelta(seconds=10)) == 0.0
        )
        with pytest.raises(InvalidInput):
            storage.take_rate_slot("gw", rate_per_second=0.0, now=t0)

    def test_opt_outs(self, storage: Storage, clock_start: datetime) -> None:
        """Opt-outs: added once, emails compared ignoring case, removable."""
        phone, email = "+84907000009", "Lan@Example.com"
        assert storage.add_opt_outs([phone, email, phone], now=clock_start) == 2
        assert storage.add_opt_outs(["lan@example.COM"], now=clock_start) == 0
        asked = [phone, "LAN@example.com", "+84907000010"]
        assert storage.opted_out(asked) == {phone, "LAN@example.com"}
        assert storage.remove_opt_out("lan@EXAMPLE.com") is True
        assert storage.remove_opt_out(email) is False
        assert storage.opted_out(asked) == {phone}
        assert storage.opted_out([]) == set()
