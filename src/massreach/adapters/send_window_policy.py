"""The send-window policy: advertising goes out only inside its window.

Decree 91/2020 allows advertising SMS, email and calls only from 07:00 to 22:00
Vietnam time; that is the default window. ``[send_window]`` in the configuration file
changes it::

    [send_window]
    advertising = "07:00-22:00"     # a start later than the end runs over midnight
    timezone = "Asia/Ho_Chi_Minh"

Outside the window an advertising message is *held* until the window next opens
(:meth:`massreach.core.send_window.SendWindow.next_open`); it is never dropped.
Customer-care messages are not concerned.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from massreach.config import SendWindowConfig
from massreach.core.lifecycle import CampaignKind
from massreach.core.send_window import SendWindow
from massreach.markers import hookimpl
from massreach.model import Campaign, OutboxMessage
from massreach.policies import BasePolicy, PolicyContext, PolicyDecision, SendPolicy

__all__ = ["REASON_OUTSIDE_WINDOW", "SendWindowPolicy", "window_of"]

REASON_OUTSIDE_WINDOW = "send_window.closed"


@lru_cache(maxsize=32)
def window_of(config: SendWindowConfig) -> SendWindow:
    """The core :class:`SendWindow` for a ``[send_window]`` section."""
    return SendWindow(config.advertising_start, config.advertising_end, config.timezone)


class SendWindowPolicy(BasePolicy):
    """Holds advertising messages until the advertising window opens."""

    name = "send_window"
    order = 20

    def check(
        self, message: OutboxMessage, campaign: Campaign, ctx: PolicyContext
    ) -> PolicyDecision | None:
        """Hold an advertising message outside the window until it opens."""
        if campaign.kind is not CampaignKind.ads:
            return None
        window = window_of(ctx.config.send_window)
        if window.is_open(ctx.now):
            return None
        return PolicyDecision.hold(
            window.next_open(ctx.now),
            f"{REASON_OUTSIDE_WINDOW}: advertising is sent only {window}",
        )


@hookimpl(trylast=True)
def massreach_register_policies(register: Callable[[SendPolicy], None]) -> None:
    """Register the built-in send-window policy."""
    register(SendWindowPolicy())
