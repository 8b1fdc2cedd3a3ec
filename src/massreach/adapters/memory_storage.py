"""``memory:``: the in-memory storage backend, the reference semantics of the protocol.

Everything lives in plain dicts guarded by one re-entrant lock, so a
:class:`MemoryStorage` is safe to share between threads (not between processes),
and every method is one transaction: it validates first and changes nothing when
it refuses. Original import files are copied into a temporary directory the
storage owns and removes on :meth:`~MemoryStorage.close`. Every ``open()`` of
``memory:`` gives a new, empty store.

The SQL backends behave exactly like this one; the conformance suite in
:mod:`massreach.testing` checks that they do. The parts live in
``memory_contacts`` (lists, contacts, agents, distribution), ``memory_plans``
(import plans), ``memory_outbox`` (templates, campaigns, outbox, reports) and
``memory_limits`` (counters, windows, rate slots, opt-outs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from massreach.adapters.memory_limits import MemoryLimits
from massreach.adapters.memory_outbox import MemoryOutbox
from massreach.adapters.memory_plans import MemoryPlans
from massreach.adapters.memory_state import locked
from massreach.errors import StorageError
from massreach.markers import hookimpl
from massreach.storage.protocol import Storage, StorageFactory
from massreach.storage.urls import url_scheme

__all__ = ["MemoryStorage", "MemoryStorageFactory"]


class MemoryStorage(MemoryPlans, MemoryOutbox, MemoryLimits):
    """The whole :class:`~massreach.storage.Storage` protocol in plain Python.

    >>> storage = MemoryStorage()
    >>> storage.lists()
    []
    >>> storage.close()
    """

    def __repr__(self) -> str:
        return f"MemoryStorage({self.url!r})"

    @locked
    def close(self) -> None:
        """Remove the stored files; the data goes with the object."""
        self._files.cleanup()


class MemoryStorageFactory:
    """Opens ``memory:`` URLs: each call gives a fresh, empty :class:`MemoryStorage`."""

    schemes: tuple[str, ...] = ("memory",)

    def open(self, url: str, options: Mapping[str, str]) -> Storage:
        """A new in-memory store; StorageError for a URL of another scheme."""
        if url_scheme(url) != "memory":
            raise StorageError(
                f"{url!r} is not a memory: URL.",
                code="storage.bad_url",
                details={"url": url},
            )
        return MemoryStorage(url)


if TYPE_CHECKING:  # mypy proves that both classes satisfy the protocols

    def _conforms(
        storage: MemoryStorage, factory: MemoryStorageFactory
    ) -> tuple[Storage, StorageFactory]:
        return storage, factory


@hookimpl(trylast=True)
def massreach_register_storage(register: Callable[[StorageFactory], None]) -> None:
    """Register the ``memory:`` backend as a default a plugin may override."""
    register(MemoryStorageFactory())
