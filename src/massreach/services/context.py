"""What every service is built from: storage, hooks, clock, environment and config."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from attrs import define, field

from massreach.plugins import Hooks
from massreach.storage import Storage

if TYPE_CHECKING:
    from massreach.config import MassreachConfig


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (the default clock)."""
    return datetime.now(UTC)


@define
class ServiceContext:
    """Shared by the services of one engine. ``clock`` is injectable for tests."""

    storage: Storage
    hooks: Hooks
    env: Mapping[str, str]
    clock: Callable[[], datetime] = utc_now
    config_path: Path | None = None
    _config: MassreachConfig | None = field(default=None, alias="config")

    @property
    def config(self) -> MassreachConfig:
        """The channel/policy configuration, loaded on first use."""
        if self._config is None:
            from massreach.config import load_config

            kinds = [factory.kind for factory in self.hooks.channel_factories()]
            self._config = load_config(self.config_path, self.env, extra_channel_kinds=kinds)
        return self._config

    def now(self) -> datetime:
        """The current time from the clock, in UTC."""
        return self.clock().astimezone(UTC)
