"""A clock tests move by hand, for engines built with ``Reach(clock=...)``."""

from __future__ import annotations

from datetime import datetime, timedelta

from massreach.testing.storage_base import CLOCK_START

__all__ = ["FakeClock"]


class FakeClock:
    """Callable like the engine's clock; returns ``now`` until moved.

    >>> clock = FakeClock()
    >>> clock.advance(minutes=5) - CLOCK_START
    datetime.timedelta(seconds=300)
    """

    def __init__(self, start: datetime = CLOCK_START) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**parts)``; returns the new time."""
        self.now += delta if delta is not None else timedelta(**parts)
        return self.now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (timezone-aware)."""
        if when.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware time")
        self.now = when
        return self.now
