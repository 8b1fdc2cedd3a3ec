"""The campaign lifecycle: states, the actions that move between them, and the rules.

============  ======================================================
state         action → new state
============  ======================================================
draft         schedule → scheduled, start → sending, cancel → cancelled
scheduled     schedule → scheduled (reschedule), unschedule → draft,
              start → sending, cancel → cancelled
sending       pause → paused, complete → completed, cancel → cancelled
paused        resume → sending, cancel → cancelled
completed     (nothing)
cancelled     (nothing)
============  ======================================================

``completed`` and ``cancelled`` are terminal: they accept no action. From every
other state both ``cancel`` and a path to ``completed`` stay possible.

Whether the scheduled time has come, or whether anything is still pending, is for
the caller to decide (the core has no clock and no storage); this module only says
which moves make sense.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from massreach.errors import InvalidInput, InvalidTransition

__all__ = [
    "TERMINAL_STATES",
    "CampaignAction",
    "CampaignKind",
    "CampaignState",
    "allowed_actions",
    "can_edit_audience",
    "is_terminal",
    "parse_kind",
    "parse_state",
    "transition",
]


class CampaignState(StrEnum):
    """Where a campaign is in its life."""

    draft = "draft"
    scheduled = "scheduled"
    sending = "sending"
    paused = "paused"
    completed = "completed"
    cancelled = "cancelled"


class CampaignAction(StrEnum):
    """What a user (or the scheduler) asks a campaign to do."""

    schedule = "schedule"  # send at a future time (again on a scheduled one: reschedule)
    unschedule = "unschedule"  # back to draft
    start = "start"  # send now, or the scheduled time has come
    pause = "pause"
    resume = "resume"
    complete = "complete"  # nothing is pending any more
    cancel = "cancel"


class CampaignKind(StrEnum):
    """Customer care (transactional, registered template) or advertising."""

    care = "care"
    ads = "ads"


_S = CampaignState
_A = CampaignAction

_TABLE: Mapping[CampaignState, Mapping[CampaignAction, CampaignState]] = MappingProxyType(
    {
        _S.draft: MappingProxyType(
            {_A.schedule: _S.scheduled, _A.start: _S.sending, _A.cancel: _S.cancelled}
        ),
        _S.scheduled: MappingProxyType(
            {
                _A.schedule: _S.scheduled,
                _A.unschedule: _S.draft,
                _A.start: _S.sending,
                _A.cancel: _S.cancelled,
            }
        ),
        _S.sending: MappingProxyType(
            {_A.pause: _S.paused, _A.complete: _S.completed, _A.cancel: _S.cancelled}
        ),
        _S.paused: MappingProxyType({_A.resume: _S.sending, _A.cancel: _S.cancelled}),
        _S.completed: MappingProxyType({}),
        _S.cancelled: MappingProxyType({}),
    }
)

#: States that accept no action at all.
TERMINAL_STATES: frozenset[CampaignState] = frozenset(s for s, t in _TABLE.items() if not t)

_VERB = {
    _A.schedule: "schedule",
    _A.unschedule: "unschedule",
    _A.start: "start sending",
    _A.pause: "pause",
    _A.resume: "resume",
    _A.complete: "complete",
    _A.cancel: "cancel",
}

_DESCRIPTION = {
    _S.draft: "still a draft",
    _S.scheduled: "scheduled",
    _S.sending: "sending",
    _S.paused: "paused",
    _S.completed: "already completed",
    _S.cancelled: "cancelled",
}


def allowed_actions(state: CampaignState) -> tuple[CampaignAction, ...]:
    """The actions ``state`` accepts, in declaration order of :class:`CampaignAction`."""
    table = _TABLE[CampaignState(state)]
    return tuple(a for a in CampaignAction if a in table)


def is_terminal(state: CampaignState) -> bool:
    """True for ``completed`` and ``cancelled``: nothing more can happen."""
    return CampaignState(state) in TERMINAL_STATES


def transition(current: CampaignState, action: CampaignAction) -> CampaignState:
    """The state ``action`` leads to from ``current``.

    Raises :class:`InvalidTransition` (code ``campaign.invalid_transition``,
    details ``state``, ``action`` and ``allowed``) when the move makes no sense,
    with a message saying what can be done instead.
    """
    state = CampaignState(current)
    act = CampaignAction(action)
    target = _TABLE[state].get(act)
    if target is not None:
        return target
    allowed = allowed_actions(state)
    if allowed:
        hint = "Possible now: " + ", ".join(_VERB[a] for a in allowed) + "."
    else:
        hint = "It is finished; nothing more can be done with it."
    raise InvalidTransition(
        f"Cannot {_VERB[act]} a campaign that is {_DESCRIPTION[state]}. {hint}",
        code="campaign.invalid_transition",
        details={"state": state.value, "action": act.value, "allowed": [a.value for a in allowed]},
    )


def can_edit_audience(state: CampaignState) -> bool:
    """Customers may be added, edited or removed only while the campaign is a draft."""
    return CampaignState(state) is CampaignState.draft


def parse_state(text: str) -> CampaignState:
    """A campaign state from user input (case-insensitive); :class:`InvalidInput` if unknown."""
    key = text.strip().casefold()
    try:
        return CampaignState(key)
    except ValueError:
        allowed = [s.value for s in CampaignState]
        raise InvalidInput(
            f"Unknown campaign state {text!r}; use one of: {', '.join(allowed)}.",
            code="campaign.unknown_state",
            details={"value": text, "allowed": allowed},
        ) from None


_KIND_ALIASES = {
    "care": CampaignKind.care,
    "customer_care": CampaignKind.care,
    "customer-care": CampaignKind.care,
    "customer care": CampaignKind.care,
    "cskh": CampaignKind.care,
    "ads": CampaignKind.ads,
    "ad": CampaignKind.ads,
    "advertising": CampaignKind.ads,
    "qc": CampaignKind.ads,
}


def parse_kind(text: str) -> CampaignKind:
    """A campaign kind from user input: ``care`` (also ``cskh``, ``customer care``) or
    ``ads`` (also ``qc``, ``advertising``); :class:`InvalidInput` otherwise."""
    kind = _KIND_ALIASES.get(text.strip().casefold())
    if kind is None:
        raise InvalidInput(
            f"Unknown campaign kind {text!r}; use 'care' (customer care) or 'ads' (advertising).",
            code="campaign.unknown_kind",
            details={"value": text, "allowed": [k.value for k in CampaignKind]},
        )
    return kind
