"""The opt-out policy: a message to a phone or email on the opt-out list is dropped.

The list is kept by storage (``add_opt_outs``; ``massreach opt-out add`` and
``Reach.dispatch.opt_out`` fill it). Every channel and kind is concerned: the
audience of a campaign already leaves opted-out customers out when it is expanded,
and this policy catches those who opted out while the campaign was sending. The
targets of a whole batch are looked up in one storage call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from massreach.markers import hookimpl
from massreach.model import Campaign, OutboxMessage
from massreach.policies import BasePolicy, PolicyContext, PolicyDecision, SendPolicy

__all__ = ["REASON_OPTED_OUT", "OptOutPolicy"]

REASON_OPTED_OUT = "opt_out: the recipient asked not to receive messages"


class OptOutPolicy(BasePolicy):
    """Drops messages whose target is on the opt-out list (emails case-insensitively)."""

    name = "opt_out"
    order = 10

    def prepare(self, batch: Sequence[tuple[OutboxMessage, Campaign]], ctx: PolicyContext) -> None:
        """Look the batch's targets up in one call."""
        targets = sorted({message.target for message, _ in batch})
        ctx.cache[self.name] = ctx.storage.opted_out(targets) if targets else set()

    def check(
        self, message: OutboxMessage, campaign: Campaign, ctx: PolicyContext
    ) -> PolicyDecision | None:
        """Drop the message if its target opted out."""
        found = ctx.cache.get(self.name)
        if found is None:
            found = ctx.storage.opted_out([message.target])
        if message.target in found:
            return PolicyDecision.drop(REASON_OPTED_OUT)
        return None


@hookimpl(trylast=True)
def massreach_register_policies(register: Callable[[SendPolicy], None]) -> None:
    """Register the built-in opt-out policy."""
    register(OptOutPolicy())
