"""A process-wide interpreter setting changed while some work runs, then put back.

Imports change two of Python's settings for their duration (the switch interval
while SQLite inserts on a second thread, the garbage collector's threshold while
an import runs). Several imports may run at once in one process: the setting is
changed when the first starts and put back, to what it was then, when the last
one ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

__all__ = ["ProcessSetting"]

V = TypeVar("V")


class ProcessSetting(Generic[V]):
    """``with setting.changed(): …`` runs with ``write(choose(read()))`` in force;
    nested and concurrent uses share one saved value, written back by the last."""

    def __init__(
        self, read: Callable[[], V], write: Callable[[V], object], choose: Callable[[V], V]
    ) -> None:
        self._read, self._write, self._choose = read, write, choose
        self._lock = threading.Lock()
        self._users = 0
        self._saved: V | None = None

    @contextmanager
    def changed(self) -> Iterator[None]:
        """The changed setting for the duration of the block."""
        with self._lock:
            if self._users == 0:
                saved = self._saved = self._read()
                self._write(self._choose(saved))
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._write(self._saved)  # type: ignore[arg-type]
                    self._saved = None
