"""Send policies: what decides, just before a message goes to its channel, whether it
goes now, waits, or never goes.

A policy is a plugin object registered through ``massreach_register_policies``
(:mod:`massreach.hookspecs`). The built-ins are the opt-out list
(:mod:`massreach.adapters.opt_out_policy`), the advertising send window
(:mod:`massreach.adapters.send_window_policy`) and the carrier quotas
(:mod:`massreach.adapters.quota_policy`). For each claimed message the dispatcher
asks every policy in ``order`` (lowest first); the first one that answers ``hold`` or
``drop`` decides, and its reason is recorded on the message:

* ``send`` (or ``None``: no objection): the next policy is asked;
* ``hold``: the message waits until ``until`` (state ``held``; it is claimed again
  then and every policy asks again);
* ``drop``: the message never goes (state ``failed`` with the reason).

Reservations. A policy that counts (quotas) must count *before* the send, atomically,
or two workers would both let the last allowed message through. It does so in
``check`` through storage (``reserve_counters``, ``reserve_window``) and returns
``PolicyDecision.send(reservation=...)``. When the message then does not go (a later
policy holds it, it cannot be rendered, the channel answers a temporary or permanent
failure, the campaign was paused meanwhile) the dispatcher calls the policy's
``release`` with that decision, which gives the reservation back. A worker killed
between the reservation and the send leaks it: the cap then errs on the safe side.

Policies are stateless objects shared by every batch; what they need per batch
(configuration, storage, the time, data fetched once for the batch in ``prepare``)
comes in the :class:`PolicyContext`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from attrs import field, frozen, validators

from massreach.errors import InvalidInput

if TYPE_CHECKING:
    from massreach.config import MassreachConfig
    from massreach.model import Campaign, OutboxMessage
    from massreach.storage import Storage

__all__ = [
    "BasePolicy",
    "PolicyChain",
    "PolicyContext",
    "PolicyDecision",
    "PolicyVerdict",
    "Reservation",
    "SendPolicy",
]

_log = logging.getLogger(__name__)

Action = Literal["send", "hold", "drop"]


def _aware_or_none(_instance: object, _attribute: object, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidInput(
            "a policy's hold time must carry a time zone",
            code="policy.naive_time",
            details={"until": value.isoformat()},
        )


@frozen
class Reservation:
    """What a policy took for one message in storage, to give back if it is not sent.

    ``counters``: keys incremented by ``reserve_counters``; ``windows``: events
    ``(key, at)`` recorded by ``reserve_window``; ``extra``: anything a third-party
    policy needs to undo its own reservation in its ``release``.
    """

    counters: tuple[str, ...] = ()
    windows: tuple[tuple[str, datetime], ...] = ()
    extra: Any = None

    def give_back(self, storage: Storage) -> None:
        """Release the counters and window events in ``storage``."""
        if self.counters:
            storage.release_counters(self.counters)
        for key, at in self.windows:
            storage.release_window(key, at=at)


@frozen
class PolicyDecision:
    """One policy's answer for one message.

    ``until`` is required for ``hold`` (the earliest time the message may be tried
    again); ``reason`` is required for ``hold`` and ``drop`` and should start with a
    stable code (``"quota.day_cap: ..."``); ``reservation`` only goes with ``send``.
    """

    action: Action = field(validator=validators.in_(("send", "hold", "drop")))
    until: datetime | None = field(default=None, validator=_aware_or_none)
    reason: str | None = None
    reservation: Reservation | None = None

    def __attrs_post_init__(self) -> None:
        if self.action == "hold" and self.until is None:
            raise InvalidInput(
                "a hold decision needs the time the message may go (until)",
                code="policy.hold_without_time",
            )
        if self.action != "send" and not self.reason:
            raise InvalidInput(
                f"a {self.action} decision needs a reason", code="policy.reason_required"
            )
        if self.action != "send" and self.reservation is not None:
            raise InvalidInput(
                "only a send decision may carry a reservation",
                code="policy.reservation_without_send",
            )

    @classmethod
    def send(cls, reservation: Reservation | None = None) -> PolicyDecision:
        """Let the message go (keeping ``reservation`` until it is sent)."""
        return cls("send", reservation=reservation)

    @classmethod
    def hold(cls, until: datetime, reason: str) -> PolicyDecision:
        """Keep the message until ``until``."""
        return cls("hold", until=until, reason=reason)

    @classmethod
    def drop(cls, reason: str) -> PolicyDecision:
        """Never send the message."""
        return cls("drop", reason=reason)


@frozen
class PolicyContext:
    """What a policy may use while deciding one batch.

    ``now`` is the dispatcher's clock (UTC); ``cache`` is scratch space for the batch,
    keyed by policy name, that ``prepare`` fills (e.g. the batch's opted-out targets).
    """

    now: datetime
    storage: Storage
    config: MassreachConfig
    cache: dict[str, Any] = field(factory=dict)


class SendPolicy(Protocol):
    """A send policy (see the module docstring). Subclass :class:`BasePolicy` to get
    no-op ``prepare`` and the storage ``release``."""

    @property
    def name(self) -> str:
        """Unique name; a later registration with the same name replaces this one."""
        ...

    @property
    def order(self) -> int:
        """Position in the chain, lowest asked first (built-ins: 10, 20, 30)."""
        ...

    def prepare(self, batch: Sequence[tuple[OutboxMessage, Campaign]], ctx: PolicyContext) -> None:
        """Fetch what ``check`` needs for the whole batch at once (optional work)."""
        ...

    def check(
        self, message: OutboxMessage, campaign: Campaign, ctx: PolicyContext
    ) -> PolicyDecision | None:
        """Decide for one message; ``None`` means no objection."""
        ...

    def release(
        self,
        message: OutboxMessage,
        campaign: Campaign,
        decision: PolicyDecision,
        ctx: PolicyContext,
    ) -> None:
        """Give back ``decision.reservation``: the message was not sent after all."""
        ...


class BasePolicy:
    """Defaults for policies: nothing to prepare; ``release`` gives back the storage
    counters and window events of the decision's reservation."""

    name = "base"
    order = 100

    def prepare(self, batch: Sequence[tuple[OutboxMessage, Campaign]], ctx: PolicyContext) -> None:
        """Nothing to fetch in advance."""

    def check(
        self, message: OutboxMessage, campaign: Campaign, ctx: PolicyContext
    ) -> PolicyDecision | None:
        """No objection."""
        return None

    def release(
        self,
        message: OutboxMessage,
        campaign: Campaign,
        decision: PolicyDecision,
        ctx: PolicyContext,
    ) -> None:
        """Give back the counters and window events this policy reserved."""
        if decision.reservation is not None:
            decision.reservation.give_back(ctx.storage)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, order={self.order})"


@frozen
class PolicyVerdict:
    """The chain's answer for one message: the deciding decision and every
    reservation taken on the way (to give back if the message is not sent)."""

    decision: PolicyDecision
    policy: str | None = None
    taken: tuple[tuple[SendPolicy, PolicyDecision], ...] = ()

    @property
    def action(self) -> Action:
        """``send``, ``hold`` or ``drop``."""
        return self.decision.action


_SEND = PolicyDecision.send()


class PolicyChain:
    """The policies in force, deduplicated by name (the last registered wins) and
    sorted by ``order`` (registration order breaks ties)."""

    def __init__(self, policies: Iterable[SendPolicy]) -> None:
        by_name: dict[str, SendPolicy] = {}
        for policy in policies:
            by_name.pop(policy.name, None)
            by_name[policy.name] = policy
        ranked = list(by_name.values())
        self.policies: tuple[SendPolicy, ...] = tuple(
            sorted(ranked, key=lambda p: (p.order, ranked.index(p)))
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Policy names in the order they are asked."""
        return tuple(p.name for p in self.policies)

    def prepare(self, batch: Sequence[tuple[OutboxMessage, Campaign]], ctx: PolicyContext) -> None:
        """Let each policy fetch what it needs for ``batch``."""
        for policy in self.policies:
            policy.prepare(batch, ctx)

    def decide(
        self, message: OutboxMessage, campaign: Campaign, ctx: PolicyContext
    ) -> PolicyVerdict:
        """Ask the policies in order; a hold or drop gives back what was reserved."""
        taken: list[tuple[SendPolicy, PolicyDecision]] = []
        for policy in self.policies:
            decision = policy.check(message, campaign, ctx)
            if decision is None or decision.action == "send":
                if decision is not None and decision.reservation is not None:
                    taken.append((policy, decision))
                continue
            verdict = PolicyVerdict(decision, policy.name, tuple(taken))
            self.release(verdict, message, campaign, ctx)
            return PolicyVerdict(decision, policy.name)
        return PolicyVerdict(_SEND, None, tuple(taken))

    def release(
        self,
        verdict: PolicyVerdict,
        message: OutboxMessage,
        campaign: Campaign,
        ctx: PolicyContext,
    ) -> None:
        """Give back every reservation of ``verdict`` (the message was not sent)."""
        for policy, decision in reversed(verdict.taken):
            try:
                policy.release(message, campaign, decision, ctx)
            except Exception:  # a failed give-back only makes a cap stricter
                _log.exception("policy %s could not release a reservation", policy.name)
