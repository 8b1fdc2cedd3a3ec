"""Distributing the records of an outbound task to agents.

The core works on *counts*: a split turns "N records in scope" into shares
(``Share("6001", 50)``), and storage applies them set-based: the first 50 records
of the scope, in the stable order, go to 6001, the next ones to the following
agent. :func:`assign_in_order` and :func:`distribute` are the pure reference of
that rule, used by the tests and the in-memory backend.

Stable order (:class:`DistributionOrder`): import position by default, or a
priority field; ties are broken by position, then by record id. The caller (or
storage) orders the records; everything here keeps the order it is given.

Scopes (:func:`in_scope`): ``unassigned`` takes records that have no owner;
``unprocessed`` takes every record not yet worked, whether assigned or not, so
records assigned but not worked are taken back and redistributed. Worked
records (any status but ``unprocessed``) are never taken back, and a pinned
callback (a record with a callback date still in the future) is in no scope
until its date; after it, it is an ordinary unprocessed record.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from fractions import Fraction
from typing import Literal

import attrs
from attrs import field, frozen, validators

from massreach.core.send_window import require_aware
from massreach.errors import InvalidInput

__all__ = [
    "CountSplit",
    "DistributionOrder",
    "EvenSplit",
    "ProcessingStatus",
    "RecordState",
    "Scope",
    "Share",
    "WeightedSplit",
    "apply_distribution",
    "assign_in_order",
    "distribute",
    "in_scope",
    "parse_counts",
    "split_by_count",
    "split_even",
    "split_weighted",
]


class Scope(StrEnum):
    """Which records of a task a distribution takes."""

    unassigned = "unassigned"
    unprocessed = "unprocessed"


class ProcessingStatus(StrEnum):
    """An agent's outcome on a record; ``unprocessed`` until the record is worked."""

    unprocessed = "unprocessed"
    follow_up = "follow_up"
    failed = "failed"
    succeeded = "succeeded"


def _agent_id(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            "An agent id must be a non-empty text.",
            code="distribution.bad_agent",
            details={"agent": repr(value)},
        )


@frozen
class Share:
    """``count`` records of the scope go to ``agent``."""

    agent: str = field(validator=_agent_id)
    count: int = field(validator=[validators.instance_of(int), validators.ge(0)])


@frozen
class DistributionOrder:
    """The stable order records are handed out in.

    ``position`` is import order (the default); ``priority`` puts the highest
    priority first and records without a priority last. Ties are always broken
    by position, then by record id, so the same call on the same data gives the
    same result.
    """

    field: Literal["position", "priority"] = attrs.field(default="position")

    @field.validator
    def _known(self, _attribute: object, value: str) -> None:
        if value not in ("position", "priority"):
            raise InvalidInput(
                f"Records can be ordered by 'position' or 'priority', not {value!r}.",
                code="distribution.bad_order",
                details={"field": value},
            )

    def key(self, record_id: int, position: int, priority: int | None = None) -> tuple[int, ...]:
        """Sort key for one record under this order (for the in-memory backend)."""
        if self.field == "position":
            return (position, record_id)
        if priority is None:
            return (1, 0, position, record_id)
        return (0, -priority, position, record_id)


def _no_duplicates(agents: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for agent in agents:
        if agent in seen:
            raise InvalidInput(
                f"Agent {agent!r} is listed twice in {what}.",
                code="distribution.duplicate_agent",
                details={"agent": agent},
            )
        seen.add(agent)


def _check_total(total: int) -> None:
    if not isinstance(total, int) or total < 0:
        raise InvalidInput(
            "The number of records to distribute cannot be negative.",
            code="distribution.bad_total",
            details={"total": total},
        )


def _need_agents(agents: Sequence[object]) -> None:
    if not agents:
        raise InvalidInput(
            "Choose at least one agent to distribute records to.",
            code="distribution.no_agents",
        )


def split_even(total: int, agents: Sequence[str]) -> tuple[Share, ...]:
    """Split ``total`` records among ``agents`` as evenly as possible.

    Counts differ by at most one; the earlier agents get the extra records.
    """
    _check_total(total)
    _need_agents(agents)
    _no_duplicates(agents, "the agent list")
    base, extra = divmod(total, len(agents))
    return tuple(Share(agent, base + (1 if i < extra else 0)) for i, agent in enumerate(agents))


def split_weighted(total: int, weights: Sequence[tuple[str, float]]) -> tuple[Share, ...]:
    """Split ``total`` records in proportion to each agent's weight.

    Largest-remainder (Hamilton) rounding with exact arithmetic: every agent gets
    the floor of its exact share, and the records left over go one each to the
    largest remainders, ties to the earlier agent. Weights must be positive.
    """
    _check_total(total)
    _need_agents(weights)
    _no_duplicates((agent for agent, _ in weights), "the weights")
    exact: list[Fraction] = []
    for agent, weight in weights:
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not math.isfinite(weight)
            or weight <= 0
        ):
            raise InvalidInput(
                f"Agent {agent!r} has weight {weight!r}; weights must be positive numbers.",
                code="distribution.bad_weight",
                details={"agent": agent, "weight": repr(weight)},
            )
        exact.append(Fraction(weight))
    whole = sum(exact, Fraction(0))
    shares = [total * w / whole for w in exact]
    counts = [math.floor(s) for s in shares]
    left = total - sum(counts)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in by_remainder[:left]:
        counts[i] += 1
    return tuple(Share(agent, n) for (agent, _), n in zip(weights, counts, strict=True))


def split_by_count(
    total: int, requested: Sequence[tuple[str, int]], *, allow_partial: bool
) -> tuple[Share, ...]:
    """Give each agent exactly the number of records asked for.

    When more are asked for than ``total``, raise ``distribution.not_enough_records``
    (details ``requested`` and ``available``), or with ``allow_partial`` give what
    there is in agent order. Records beyond the sum asked for are not handed out.
    """
    _check_total(total)
    _need_agents(requested)
    _no_duplicates((agent for agent, _ in requested), "the counts")
    for agent, count in requested:
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise InvalidInput(
                f"Agent {agent!r} is asked to take {count!r} records; use a whole number ≥ 0.",
                code="distribution.bad_count",
                details={"agent": agent, "count": repr(count)},
            )
    wanted = sum(count for _, count in requested)
    if wanted > total and not allow_partial:
        raise InvalidInput(
            f"{wanted} records were asked for but only {total} are available.",
            code="distribution.not_enough_records",
            details={"requested": wanted, "available": total},
        )
    shares: list[Share] = []
    left = total
    for agent, count in requested:
        given = min(count, left)
        shares.append(Share(agent, given))
        left -= given
    return tuple(shares)


def parse_counts(text: str) -> tuple[tuple[str, int], ...]:
    """Parse ``"6001=50,6002=30"`` into ``(("6001", 50), ("6002", 30))``.

    Spaces around items are ignored. Raises :class:`InvalidInput` with
    ``distribution.bad_counts`` for malformed text (details ``item``) and
    ``distribution.duplicate_agent`` for an agent named twice.
    """
    if not text.strip():
        raise InvalidInput(
            "No counts given; write them as AGENT=COUNT pairs, e.g. 6001=50,6002=30.",
            code="distribution.bad_counts",
            details={"item": text},
        )
    pairs: list[tuple[str, int]] = []
    for raw in text.split(","):
        item = raw.strip()
        agent, sep, number = item.partition("=")
        agent, number = agent.strip(), number.strip()
        if not sep or not agent or "=" in number:
            raise InvalidInput(
                f"{item!r} is not AGENT=COUNT (e.g. 6001=50).",
                code="distribution.bad_counts",
                details={"item": item},
            )
        if not (number.isascii() and number.isdigit()):
            raise InvalidInput(
                f"The count for agent {agent!r} must be a whole number ≥ 0, not {number!r}.",
                code="distribution.bad_counts",
                details={"item": item},
            )
        pairs.append((agent, int(number)))
    _no_duplicates((agent for agent, _ in pairs), "the counts")
    return tuple(pairs)


def assign_in_order(record_ids: Sequence[int], shares: Sequence[Share]) -> dict[int, str]:
    """Hand out ``record_ids`` (already in the stable order) in contiguous blocks.

    The first ``shares[0].count`` ids go to ``shares[0].agent``, the next ones to
    the next share, and so on. Ids beyond the sum of the shares are not in the
    result. Raises ``distribution.not_enough_records`` if the shares ask for more
    ids than given and ``distribution.duplicate_record`` for a repeated id.
    """
    wanted = sum(share.count for share in shares)
    if wanted > len(record_ids):
        raise InvalidInput(
            f"{wanted} records were asked for but only {len(record_ids)} are available.",
            code="distribution.not_enough_records",
            details={"requested": wanted, "available": len(record_ids)},
        )
    if len(set(record_ids)) != len(record_ids):
        raise InvalidInput(
            "A record appears twice in the records to distribute.",
            code="distribution.duplicate_record",
        )
    result: dict[int, str] = {}
    start = 0
    for share in shares:
        for record_id in record_ids[start : start + share.count]:
            result[record_id] = share.agent
        start += share.count
    return result


def _aware_or_none(_instance: object, _attribute: object, value: datetime | None) -> None:
    if value is not None:
        require_aware(value, "callback time")


@frozen
class RecordState:
    """What distribution needs to know about one record.

    ``callback_at`` and ``callback_agent`` describe a pinned callback: the record
    stays with ``callback_agent`` and is not redistributed before ``callback_at``.
    """

    id: int = field(validator=validators.instance_of(int))
    owner: str | None = None
    status: ProcessingStatus = field(
        default=ProcessingStatus.unprocessed, converter=ProcessingStatus
    )
    callback_at: datetime | None = field(default=None, validator=_aware_or_none)
    callback_agent: str | None = None

    def pinned(self, now: datetime) -> bool:
        """True while the record is a pinned callback whose date has not come."""
        # compared in UTC: datetimes sharing a zone compare by wall clock, wrong in a
        # repeated DST hour
        now_utc = require_aware(now).astimezone(UTC)
        return self.callback_at is not None and now_utc < self.callback_at.astimezone(UTC)


def in_scope(record: RecordState, scope: Scope, now: datetime) -> bool:
    """True when a distribution with ``scope`` at ``now`` may (re)assign ``record``."""
    if record.pinned(now):
        return False
    if Scope(scope) is Scope.unassigned:
        return record.owner is None
    return record.status is ProcessingStatus.unprocessed


def _agents(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _weights(value: Iterable[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    return tuple(value)


def _requested(value: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    return tuple(value)


@frozen
class EvenSplit:
    """A split function: :func:`split_even` among ``agents``."""

    agents: tuple[str, ...] = field(converter=_agents)

    def __call__(self, total: int) -> tuple[Share, ...]:
        """The shares for ``total`` records."""
        return split_even(total, self.agents)


@frozen
class WeightedSplit:
    """A split function: :func:`split_weighted` with ``weights``."""

    weights: tuple[tuple[str, float], ...] = field(converter=_weights)

    def __call__(self, total: int) -> tuple[Share, ...]:
        """The shares for ``total`` records."""
        return split_weighted(total, self.weights)


@frozen
class CountSplit:
    """A split function: :func:`split_by_count` with ``requested``."""

    requested: tuple[tuple[str, int], ...] = field(converter=_requested)
    allow_partial: bool = False

    def __call__(self, total: int) -> tuple[Share, ...]:
        """The shares for ``total`` records."""
        return split_by_count(total, self.requested, allow_partial=self.allow_partial)


def distribute(
    records: Sequence[RecordState],
    scope: Scope,
    split: Callable[[int], Sequence[Share]],
    now: datetime,
) -> dict[int, str]:
    """Reference distribution: which agent each record in scope goes to.

    ``records`` are in the stable order; ``split`` turns the number in scope into
    shares (:class:`EvenSplit`, :class:`WeightedSplit`, :class:`CountSplit` or any
    function). The result maps record id to its new owner. Every record in scope
    is taken back first, so a record in scope but not in the result (a
    :class:`CountSplit` asking for fewer than are in scope) ends up without an
    owner; records out of scope keep theirs. :func:`apply_distribution` gives
    the records as they are afterwards.
    """
    require_aware(now)
    chosen = [record.id for record in records if in_scope(record, scope, now)]
    return assign_in_order(chosen, split(len(chosen)))


def apply_distribution(
    records: Sequence[RecordState], scope: Scope, assignment: Mapping[int, str], now: datetime
) -> tuple[RecordState, ...]:
    """The records after a distribution: in-scope ones get the owner ``assignment``
    gives them (or none), the others are unchanged. Order is kept."""
    return tuple(
        attrs.evolve(record, owner=assignment.get(record.id))
        if in_scope(record, scope, now)
        else record
        for record in records
    )
