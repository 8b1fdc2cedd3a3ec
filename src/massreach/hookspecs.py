"""Every massreach hook, in one place.

Plugins implement these with ``@massreach.hookimpl``. Registration hooks hand the
plugin a typed ``register`` callback (the pattern of llm and tox) instead of asking
for return values. Built-in plugins implement them with ``trylast=True`` so that a
third-party plugin's registration of the same name wins.

Hooks only gain parameters over time (an implementation may accept fewer); they are
never renamed or reordered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from massreach.markers import hookspec

if TYPE_CHECKING:
    from massreach.channels import ChannelFactory
    from massreach.model import Campaign, ImportPlan, MessageOutcome, OutboxMessage
    from massreach.policies import SendPolicy
    from massreach.storage import StorageFactory
    from massreach.tables import TableReader


# -- registration: what a plugin supplies -----------------------------------------


@hookspec
def massreach_register_storage(register: Callable[[StorageFactory], None]) -> None:
    """Register storage backends: call ``register(factory)`` with an object whose
    ``schemes`` (``("sqlite",)``) name the URL schemes it opens. The factory
    registered LAST for a scheme wins, so a plugin overrides a built-in."""


@hookspec
def massreach_register_readers(register: Callable[[TableReader], None]) -> None:
    """Register table readers: call ``register(reader)``. For each file format
    (``csv``, ``xlsx``, ``xls``) the reader with the highest ``priority`` is used."""


@hookspec
def massreach_register_channels(register: Callable[[ChannelFactory], None]) -> None:
    """Register delivery channels: call ``register(factory)``; ``factory.kind`` is the
    name of the config-file table it reads (``smtp``, ``sms_gateway``, your own)."""


@hookspec
def massreach_register_policies(register: Callable[[SendPolicy], None]) -> None:
    """Register send policies (opt-out, send windows, quotas …): call
    ``register(policy)``. Policies with the same ``name`` replace each other, the
    last registered wins; every message is checked by each policy in ``order``."""


@hookspec
def massreach_header_aliases(register: Callable[[str, Sequence[str]], None]) -> None:
    """Add header names for a field: ``register("phone", ["nr kom.", "手机"])``."""


# -- moments: what a plugin is told --------------------------------------------------


@hookspec
def massreach_import_progress(plan: ImportPlan, rows_done: int, rows_total: int | None) -> None:
    """An import plan committed a batch: ``rows_done`` file rows are done so far,
    out of ``rows_total`` when known (None otherwise)."""


@hookspec
def massreach_campaign_state_changed(campaign: Campaign, previous: str) -> None:
    """A campaign moved from state ``previous`` to ``campaign.state``."""


@hookspec
def massreach_message_outcome(message: OutboxMessage, outcome: MessageOutcome) -> None:
    """The dispatcher recorded an outcome for a message (sent, held, failed …)."""
