"""pytest fixtures for massreach plugin authors, loaded through the ``pytest11``
entry point (disable with ``-p no:massreach``).

- ``massreach_clock``: a :class:`~massreach.testing.clock.FakeClock` starting at
  :data:`~massreach.testing.CLOCK_START`; move it with ``.advance(minutes=5)``.
- ``massreach_memory_storage``: a fresh, empty ``memory:`` backend.
- ``massreach_engine``: a factory building ``Reach("memory:", plugins=...)`` engines
  on that clock, closed after the test::

      def test_my_channel(massreach_engine):
          reach = massreach_engine(plugins=[my_plugin_module])
          ...

This module also has pytest rewrite the asserts of the conformance suite, so a
failing rule shows the values it compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import pytest

pytest.register_assert_rewrite(
    "massreach.testing.campaign_rules",
    "massreach.testing.contact_rules",
    "massreach.testing.distribution_rules",
    "massreach.testing.limit_rules",
    "massreach.testing.lockstep",
    "massreach.testing.outbox_rules",
    "massreach.testing.plan_rules",
    "massreach.testing.stateful",
)

if TYPE_CHECKING:
    from massreach.engine import Reach
    from massreach.storage import Storage
    from massreach.testing.clock import FakeClock


class EngineFactory(Protocol):
    """The type of the ``massreach_engine`` fixture."""

    def __call__(
        self,
        *,
        plugins: Iterable[object] = (),
        autoload: bool = False,
        env: Mapping[str, str] | None = None,
        config: Any = None,
    ) -> Reach: ...


@pytest.fixture
def massreach_clock() -> FakeClock:
    """A clock the test moves by hand (starts at ``CLOCK_START``, UTC)."""
    from massreach.testing.clock import FakeClock

    return FakeClock()


@pytest.fixture
def massreach_memory_storage() -> Iterator[Storage]:
    """A fresh, empty in-memory storage backend, closed after the test."""
    from massreach.adapters.memory_storage import MemoryStorage

    storage = MemoryStorage()
    yield storage
    storage.close()


@pytest.fixture
def massreach_engine(massreach_clock: FakeClock) -> Iterator[EngineFactory]:
    """Build ``Reach("memory:")`` engines with your plugins on ``massreach_clock``.

    ``autoload`` is False by default (only built-ins and the plugins you pass, so
    installed plugins cannot change the result), and ``env`` defaults to an empty
    mapping (``MASSREACH_*`` variables of the shell do not leak in).
    """
    from massreach.engine import Reach

    opened: list[Reach] = []

    def build(
        *,
        plugins: Iterable[object] = (),
        autoload: bool = False,
        env: Mapping[str, str] | None = None,
        config: Any = None,
    ) -> Reach:
        reach = Reach(
            "memory:",
            plugins=plugins,
            autoload=autoload,
            env={} if env is None else env,
            config=config,
            clock=massreach_clock,
        )
        opened.append(reach)
        return reach

    yield build
    for reach in reversed(opened):
        reach.close()
