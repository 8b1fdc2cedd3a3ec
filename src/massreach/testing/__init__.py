"""Test support for massreach and its plugins (public API).

- :class:`StorageConformance`: the conformance suite a storage backend runs
  (subclass it and override the ``storage`` fixture).
- :class:`StorageStateMachine` / :func:`make_storage_machine`: a hypothesis state
  machine driving a backend against a plain-dict model.
- :class:`LockstepMachine` / :func:`make_lockstep_machine`: drives two or more
  backends with the same operations and checks they agree.
- The pytest plugin :mod:`massreach.testing.pytest_plugin` (loaded automatically
  through the ``pytest11`` entry point) gives the fixtures ``massreach_memory_storage``
  and ``massreach_engine``.

This package imports pytest and hypothesis: install massreach with its ``test`` extra.
"""

from massreach.testing.conformance import StorageConformance
from massreach.testing.lockstep import LockstepMachine, make_lockstep_machine
from massreach.testing.stateful import StorageStateMachine, make_storage_machine
from massreach.testing.storage_base import CLOCK_START

__all__ = [
    "CLOCK_START",
    "LockstepMachine",
    "StorageConformance",
    "StorageStateMachine",
    "make_lockstep_machine",
    "make_storage_machine",
]
