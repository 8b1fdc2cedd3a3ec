"""``Reach``: the engine a host product opens, and the entry to every use case."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from massreach.plugins import Hooks, make_plugin_manager
from massreach.services.context import ServiceContext, utc_now
from massreach.storage import Storage
from massreach.storage.urls import default_url, open_storage

if TYPE_CHECKING:
    from massreach.config import MassreachConfig
    from massreach.services.campaigns import CampaignService
    from massreach.services.dispatch import DispatchService
    from massreach.services.distribution import DistributionService
    from massreach.services.imports import ImportService


class Reach:
    """One massreach engine: a storage backend and its own plugin manager.

    >>> with Reach("memory:") as reach:
    ...     plan = reach.imports.run_file("customers.csv", list_name="vip")  # doctest: +SKIP

    ``url`` defaults to ``MASSREACH_DB`` or SQLite at ``./massreach.db``.
    ``plugins`` are extra plugin objects (modules or instances) registered after the
    built-ins and entry points, so they win. ``clock`` returns the current time
    (timezone-aware); tests pass a fake one.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        plugins: Iterable[object] = (),
        autoload: bool = True,
        env: Mapping[str, str] | None = None,
        config: MassreachConfig | Path | str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        self.plugin_manager = make_plugin_manager(autoload=autoload, plugins=plugins, env=self.env)
        self.hooks = Hooks(self.plugin_manager)
        self.url = url or default_url(self.env)
        self.storage: Storage = open_storage(self.url, self.hooks.storage_factories())
        config_path: Path | None = None
        config_obj: MassreachConfig | None = None
        if isinstance(config, str | Path):
            config_path = Path(config)
        elif config is not None:
            config_obj = config
        elif self.env.get("MASSREACH_CONFIG"):
            config_path = Path(self.env["MASSREACH_CONFIG"])
        self.context = ServiceContext(
            storage=self.storage,
            hooks=self.hooks,
            env=self.env,
            clock=clock,
            config_path=config_path,
            config=config_obj,
        )

    @cached_property
    def imports(self) -> ImportService:
        """Import plans: create, run, follow, export, delete."""
        from massreach.services.imports import ImportService

        return ImportService(self.context)

    @cached_property
    def campaigns(self) -> CampaignService:
        """Templates and campaigns: create, preview, confirm, send, pause, cancel."""
        from massreach.services.campaigns import CampaignService

        return CampaignService(self.context)

    @cached_property
    def distribution(self) -> DistributionService:
        """Agents and the distribution of records to them."""
        from massreach.services.distribution import DistributionService

        return DistributionService(self.context)

    @cached_property
    def dispatch(self) -> DispatchService:
        """The dispatcher: sends due outbox messages through their channels."""
        from massreach.services.dispatch import DispatchService

        return DispatchService(self.context)

    def close(self) -> None:
        """Close the storage backend (and the dispatcher's channels, if opened)."""
        if "dispatch" in self.__dict__:
            self.dispatch.close()
        self.storage.close()

    def __enter__(self) -> Reach:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Reach({_without_password(self.url)!r})"


def _without_password(url: str) -> str:
    """A storage URL safe to show: a password in it is replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
