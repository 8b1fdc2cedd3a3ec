"""Agents (call-center operators) and the figures of a calling task."""

from __future__ import annotations

from attrs import field, frozen, validators

from massreach.model.fields import to_tuple


@frozen
class Agent:
    """An operator identified by an agent number such as ``6001``."""

    id: str = field(validator=validators.min_len(1))
    name: str | None = None
    active: bool = True
    weight: float = field(default=1.0, validator=validators.gt(0))
    capacity: int | None = None


@frozen
class AgentFigures:
    """One agent's share of a task: assigned, worked (processed), remaining."""

    agent: str
    assigned: int
    worked: int

    @property
    def remaining(self) -> int:
        """Assigned records not worked yet."""
        return self.assigned - self.worked


@frozen
class TaskStats:
    """Figures of one calling task (list)."""

    total: int
    completed: int
    assigned: int
    unassigned: int
    agents: tuple[AgentFigures, ...] = field(default=(), converter=to_tuple)
