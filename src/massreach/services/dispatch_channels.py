"""The channels of one engine, built from the configuration on first use.

One :class:`ChannelSet` per engine: its channels (SMTP connection pools, HTTP
keep-alives) are shared by every worker of the process. Each channel's table may
set ``rate_per_second``; the dispatcher turns it into a limit shared by every worker
on the database (``Storage.take_rate_slot`` under ``rate:<kind>:<name>``).
"""

from __future__ import annotations

import logging
from typing import Any

from massreach.channels import Channel, ChannelRegistry
from massreach.services.context import ServiceContext

__all__ = ["ChannelSet"]

_log = logging.getLogger(__name__)


class ChannelSet:
    """The configured channels of one engine, built on first use and shared by every
    worker of the process, with the shared rate of each (from its table)."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self._channels: dict[tuple[str, str], Channel] | None = None
        self._rates: dict[tuple[str, str], tuple[str, float]] = {}

    def get(self) -> dict[tuple[str, str], Channel]:
        """Every configured channel by ``(channel, name)``."""
        if self._channels is None:
            registry = ChannelRegistry()
            for factory in self.context.hooks.channel_factories():
                registry.register(factory)
            config = self.context.config
            built = registry.build(config, self.context.env)
            for key, channel in built.items():
                self._rates[key] = (
                    f"rate:{channel.kind}:{channel.name}",
                    _rate_of(config, channel),
                )
            self._channels = built
        return self._channels

    def rate(self, key: tuple[str, str]) -> tuple[str, float]:
        """The shared rate-slot key and messages per second of a channel (0: no limit)."""
        return self._rates.get(key, ("", 0.0))

    def close(self) -> None:
        """Close every opened channel."""
        channels, self._channels = self._channels, None
        for channel in (channels or {}).values():
            try:
                channel.close()
            except Exception:  # closing must not hide the real error
                _log.exception("closing channel %s failed", channel.name)


def _rate_of(config: Any, channel: Channel) -> float:
    """``rate_per_second`` of the table a channel was built from (0 = no limit)."""
    for table in config.tables(channel.kind):
        if table.get("name", "default") != channel.name:
            continue
        if table.get("channel", channel.channel) != channel.channel:
            continue
        rate = table.get("rate_per_second", 0)
        return float(rate) if isinstance(rate, int | float) and not isinstance(rate, bool) else 0.0
    return 0.0
