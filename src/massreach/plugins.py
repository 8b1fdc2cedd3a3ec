"""The plugin manager factory and the typed facade the shell uses to call hooks.

Every engine gets its own :class:`pluggy.PluginManager` (two host products in one
process never share one). Built-in plugins are registered exactly like third-party
ones: they are modules with ``@hookimpl(trylast=True)`` implementations, listed in
:data:`DEFAULT_PLUGINS`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from massreach import hookspecs
from massreach.errors import PluginError
from massreach.markers import PROJECT_NAME

if TYPE_CHECKING:
    from massreach.channels import ChannelFactory
    from massreach.model import Campaign, ImportPlan, MessageOutcome, OutboxMessage
    from massreach.policies import SendPolicy
    from massreach.storage import StorageFactory
    from massreach.tables import TableReader

#: The built-in plugins, registered as defaults that any other plugin overrides.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "massreach.adapters.memory_storage",
    "massreach.adapters.sqlite_storage",
    "massreach.adapters.postgres_storage",
    "massreach.adapters.csv_reader",
    "massreach.adapters.xlsx_reader",
    "massreach.adapters.xls_reader",
    "massreach.adapters.html_reader",
    "massreach.adapters.calamine_reader",
    "massreach.adapters.smtp_channel",
    "massreach.adapters.sms_http_channel",
    "massreach.adapters.file_outbox",
    "massreach.adapters.opt_out_policy",
    "massreach.adapters.send_window_policy",
    "massreach.adapters.quota_policy",
)

DISABLE_ENV = "MASSREACH_DISABLE_PLUGINS"


def _blocked_names(env: Mapping[str, str]) -> list[str]:
    raw = env.get(DISABLE_ENV, "")
    return [name.strip() for name in raw.split(",") if name.strip()]


def make_plugin_manager(
    *,
    autoload: bool = True,
    plugins: Iterable[object] = (),
    env: Mapping[str, str] | None = None,
) -> pluggy.PluginManager:
    """Build a fresh plugin manager: built-ins, then ``massreach`` entry points
    (when ``autoload``), then ``plugins`` given by the caller (which win over both).

    Plugins named in ``MASSREACH_DISABLE_PLUGINS`` (comma-separated; a built-in's
    name is its module name, an entry point's name is its entry-point name) are
    blocked.
    """
    env = os.environ if env is None else env
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for blocked in _blocked_names(env):
        pm.set_blocked(blocked)
    for module_name in DEFAULT_PLUGINS:
        if pm.is_blocked(module_name):
            continue
        module = _import_builtin(module_name)
        if module is not None:
            pm.register(module, name=module_name)
    if autoload:
        try:
            pm.load_setuptools_entrypoints(PROJECT_NAME)
        except Exception as exc:  # a broken third-party plugin must say which it is
            raise PluginError(
                f"a massreach plugin failed to load: {exc}",
                code="plugin.load_failed",
                details={"error": str(exc)},
            ) from exc
    for plugin in plugins:
        name: str | None = getattr(plugin, "__name__", None)
        if name is not None and pm.is_blocked(name):
            continue
        pm.register(plugin, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc), code="plugin.unknown_hook") from exc
    return pm


def _import_builtin(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # A built-in adapter may depend on an optional package (python-calamine).
        if exc.name and exc.name != module_name and not exc.name.startswith("massreach"):
            return None
        raise


class Hooks:
    """Typed calls into the plugin manager; the only place the shell touches ``pm.hook``."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    def _collect(self, hook: Callable[..., Any]) -> list[Any]:
        found: list[Any] = []
        hook(register=found.append)
        # pluggy calls implementations last-registered first (trylast built-ins
        # last of all); reverse so that the winner is registered last.
        found.reverse()
        return found

    def storage_factories(self) -> list[StorageFactory]:
        """Storage factories, the winning one for a scheme last."""
        return self._collect(self.pm.hook.massreach_register_storage)

    def readers(self) -> list[TableReader]:
        """Table readers, in registration order (defaults first)."""
        return self._collect(self.pm.hook.massreach_register_readers)

    def channel_factories(self) -> list[ChannelFactory]:
        """Channel factories, the winning one for a kind last."""
        return self._collect(self.pm.hook.massreach_register_channels)

    def policies(self) -> list[SendPolicy]:
        """Send policies, a later one replacing an earlier one of the same name."""
        return self._collect(self.pm.hook.massreach_register_policies)

    def header_aliases(self) -> dict[str, list[str]]:
        """Header aliases added by plugins: field → names."""
        aliases: dict[str, list[str]] = {}

        def register(field: str, names: Sequence[str]) -> None:
            aliases.setdefault(field, []).extend(names)

        self.pm.hook.massreach_header_aliases(register=register)
        return aliases

    def import_progress(self, plan: ImportPlan, rows_done: int, rows_total: int | None) -> None:
        """Tell plugins an import batch was committed."""
        self.pm.hook.massreach_import_progress(
            plan=plan, rows_done=rows_done, rows_total=rows_total
        )

    def campaign_state_changed(self, campaign: Campaign, previous: str) -> None:
        """Tell plugins a campaign changed state."""
        self.pm.hook.massreach_campaign_state_changed(campaign=campaign, previous=previous)

    def message_outcome(self, message: OutboxMessage, outcome: MessageOutcome) -> None:
        """Tell plugins the dispatcher recorded an outcome."""
        self.pm.hook.massreach_message_outcome(message=message, outcome=outcome)
