"""Test support for massreach and its plugins (public API).

- :class:`StorageConformance`: the conformance suite a storage backend runs
  (subclass it and override the ``storage`` fixture).
- :class:`StorageStateMachine` / :func:`make_storage_machine`: a hypothesis state
  machine driving a backend against a plain-dict model.
- :class:`LockstepMachine` / :func:`make_lockstep_machine`: drives two or more
  backends with the same operations and checks they agree.
- :class:`FakeClock` and :data:`CLOCK_START`: time that moves only when told.
- The pytest plugin :mod:`massreach.testing.pytest_plugin` (loaded automatically
  through the ``pytest11`` entry point) gives the fixtures ``massreach_clock``,
  ``massreach_memory_storage`` and ``massreach_engine``.

This package needs pytest and hypothesis (massreach's ``test`` extra). Its names
are imported on first use, so that the pytest plugin can have pytest rewrite the
suite's asserts before the suite is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from massreach.testing.clock import FakeClock
    from massreach.testing.conformance import StorageConformance
    from massreach.testing.lockstep import LockstepMachine, make_lockstep_machine
    from massreach.testing.stateful import StorageStateMachine, make_storage_machine
    from massreach.testing.storage_base import CLOCK_START

__all__ = [
    "CLOCK_START",
    "FakeClock",
    "LockstepMachine",
    "StorageConformance",
    "StorageStateMachine",
    "make_lockstep_machine",
    "make_storage_machine",
]

_HOMES = {
    "CLOCK_START": "massreach.testing.storage_base",
    "FakeClock": "massreach.testing.clock",
    "LockstepMachine": "massreach.testing.lockstep",
    "StorageConformance": "massreach.testing.conformance",
    "StorageStateMachine": "massreach.testing.stateful",
    "make_lockstep_machine": "massreach.testing.lockstep",
    "make_storage_machine": "massreach.testing.stateful",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'massreach.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
