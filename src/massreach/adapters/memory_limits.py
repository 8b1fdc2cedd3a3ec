"""Quota counters, rolling windows, rate slots and the opt-out list of ``memory:``."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from massreach.adapters.memory_state import MemoryState, fold, locked
from massreach.errors import InvalidInput

__all__ = ["MemoryLimits"]


class MemoryLimits(MemoryState):
    """Counters, windows, rate slots and opt-outs, in dicts."""

    @locked
    def reserve_counters(self, limits: Sequence[tuple[str, int]]) -> bool:
        """If every counter is below its limit, add one to each; all or nothing."""
        wanted: dict[str, int] = {}
        for key, limit in limits:
            wanted[key] = min(limit, wanted.get(key, limit))
        if any(self._counters.get(key, 0) >= limit for key, limit in wanted.items()):
            return False
        for key in wanted:
            self._counters[key] = self._counters.get(key, 0) + 1
        return True

    @locked
    def release_counters(self, keys: Sequence[str]) -> None:
        """Take one back from each counter (never below zero)."""
        for key in keys:
            value = self._counters.get(key, 0)
            if value > 0:
                self._counters[key] = value - 1

    @locked
    def counter_values(self, keys: Sequence[str]) -> dict[str, int]:
        """Current values (0 for unknown keys)."""
        return {key: self._counters.get(key, 0) for key in keys}

    @locked
    def reserve_window(
        self, key: str, *, now: datetime, window: timedelta, limit: int
    ) -> datetime | None:
        """Record an event at ``now`` if fewer than ``limit`` lie in ``(now - window, now]``;
        otherwise the first time one more would fit."""
        if limit < 1 or window <= timedelta(0):
            raise InvalidInput(
                "A rolling window needs a limit of at least 1 and a positive length.",
                code="storage.bad_window",
                details={"key": key, "limit": limit, "window": str(window)},
            )
        now = now.astimezone(UTC)
        events = self._windows.setdefault(key, [])
        start = bisect.bisect_right(events, now - window)
        end = bisect.bisect_right(events, now)
        inside = events[start:end]
        if len(inside) < limit:
            bisect.insort(events, now)
            return None
        # One more fits once all but ``limit - 1`` of these have left the window.
        return inside[len(inside) - limit] + window

    @locked
    def release_window(self, key: str, *, at: datetime) -> bool:
        """Take back one event of ``key`` recorded at ``at``."""
        events = self._windows.get(key, [])
        at = at.astimezone(UTC)
        index = bisect.bisect_left(events, at)
        if index < len(events) and events[index] == at:
            del events[index]
            return True
        return False

    @locked
    def take_rate_slot(self, key: str, *, rate_per_second: float, now: datetime) -> float:
        """Book the next free slot of ``key`` (slots ``1 / rate`` apart); seconds to wait."""
        if not rate_per_second > 0:
            raise InvalidInput(
                "A send rate must be a positive number of messages per second.",
                code="storage.bad_rate",
                details={"key": key, "rate_per_second": rate_per_second},
            )
        now = now.astimezone(UTC)
        slot = max(now, self._rate_slots.get(key, now))
        self._rate_slots[key] = slot + timedelta(seconds=1 / rate_per_second)
        return (slot - now).total_seconds()

    @locked
    def add_opt_outs(self, targets: Sequence[str], *, now: datetime) -> int:
        """Add phones or emails to the opt-out list; returns how many were new."""
        new = {fold(target) for target in targets} - self._opt_outs
        self._opt_outs |= new
        return len(new)

    @locked
    def remove_opt_out(self, target: str) -> bool:
        """Remove one target from the opt-out list."""
        key = fold(target)
        if key not in self._opt_outs:
            return False
        self._opt_outs.discard(key)
        return True

    @locked
    def opted_out(self, targets: Sequence[str]) -> set[str]:
        """Which of ``targets`` are opted out (emails case-insensitively)."""
        return {target for target in targets if fold(target) in self._opt_outs}
