"""The state of the ``memory:`` backend and the helpers its parts share.

:class:`MemoryState` holds every dict of the in-memory store and the one
re-entrant lock that guards them; the parts of the backend
(:mod:`~massreach.adapters.memory_contacts`, :mod:`~massreach.adapters.memory_plans`,
:mod:`~massreach.adapters.memory_outbox`, :mod:`~massreach.adapters.memory_limits`)
are mixins over it, assembled in :mod:`~massreach.adapters.memory_storage`.
"""

from __future__ import annotations

import functools
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import attrs
from attrs import AttrsInstance

from massreach.model import (
    Agent,
    Campaign,
    Contact,
    ContactList,
    DeliveryReport,
    ImportPlan,
    OutboxMessage,
    RowResult,
    Template,
)
from massreach.model.jobs import ScheduledJob

__all__ = ["MemoryState", "fold", "in_utc", "locked"]

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="MemoryState")
A = TypeVar("A", bound=AttrsInstance)


def locked(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run a method while holding the storage's lock (one transaction)."""

    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    functools.update_wrapper(wrapper, method)
    return wrapper


def in_utc(value: A) -> A:
    """A copy of an attrs object with every datetime attribute in UTC.

    The copy also has fresh dicts (the model's converters copy them), so a caller
    changing a returned object's ``fields`` never reaches the stored one.
    """
    changes = {
        a.name: v.astimezone(UTC)
        for a in attrs.fields(type(value))
        if isinstance(v := getattr(value, a.name), datetime)
    }
    return cast(A, attrs.evolve(cast(Any, value), **changes))


def fold(text: str) -> str:
    """The comparison key of an email or target: case-insensitive."""
    return text.casefold()


class MemoryState:
    """Every dict of the in-memory store, its id sequences and its lock."""

    def __init__(self, url: str = "memory:") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._files = tempfile.TemporaryDirectory(prefix="massreach-memory-")
        self._ids: dict[str, int] = {}
        self._lists: dict[int, ContactList] = {}
        self._contacts: dict[int, Contact] = {}
        self._phones: dict[tuple[int, str], int] = {}
        self._last_position: dict[int, int] = {}
        self._agents: dict[str, Agent] = {}
        self._plans: dict[int, ImportPlan] = {}
        self._row_results: dict[int, dict[int, RowResult]] = {}
        self._plan_files: dict[int, Path] = {}
        self._mappings: dict[str, tuple[tuple[str, str], ...]] = {}
        self._jobs: dict[int, ScheduledJob] = {}
        self._templates: dict[str, Template] = {}
        self._campaigns: dict[int, Campaign] = {}
        self._messages: dict[int, OutboxMessage] = {}
        self._outbox_keys: dict[int, set[str]] = {}
        self._provider_ids: dict[str, int] = {}
        self._reports: list[DeliveryReport] = []
        self._counters: dict[str, int] = {}
        self._windows: dict[str, list[datetime]] = {}
        self._rate_slots: dict[str, datetime] = {}
        self._opt_outs: set[str] = set()

    def _next_id(self, kind: str) -> int:
        """The next id of a sequence (``list``, ``contact``, ``plan`` …), from 1."""
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def _files_dir(self) -> Path:
        return Path(self._files.name)
