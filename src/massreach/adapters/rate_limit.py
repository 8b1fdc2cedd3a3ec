"""A thread-safe token bucket that paces one channel instance (``rate_per_second``).

This limits one process's sends through one account or gateway. Limits shared by
several workers belong to the dispatcher, which can divide the rate among them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """Allows ``rate`` sends per second on average, bursts up to ``burst``.

    ``rate == 0`` means no limit. ``clock`` and ``sleep`` are injectable so tests can
    drive the bucket without waiting.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate < 0:
            raise ValueError("rate must be >= 0")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, self.rate))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self, tokens: float = 1.0) -> float:
        """Take ``tokens``, sleeping until they are available; returns the wait in seconds.

        Concurrent callers queue up: each one waits until the tokens it took would have
        been earned. A request larger than ``burst`` is allowed (it waits for the debt
        to be paid) instead of never going out.
        """
        if self.rate == 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= tokens
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait
