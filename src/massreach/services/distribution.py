"""Agents and the distribution of a calling task's records to them.

The core turns "N records in scope" into shares (even, by count, weighted); storage
applies the shares set-based and atomically, in the documented stable order
(import order, or priority then import order). A distribution can also be
scheduled: it is stored as a job and run by :meth:`DistributionService.run_due`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs
from attrs import frozen

from massreach.core.distribution import (
    CountSplit,
    EvenSplit,
    ProcessingStatus,
    Scope,
    Share,
    WeightedSplit,
)
from massreach.core.roles import Action, Role, check
from massreach.errors import InvalidInput, NotFound
from massreach.model import Agent, ContactQuery, TaskStats
from massreach.model.contacts import Contact, ContactList
from massreach.model.jobs import JobState, ScheduledJob
from massreach.services.context import ServiceContext

JOB_KIND = "distribution"
JOB_LEASE = timedelta(minutes=10)

Mode = Literal["even", "counts", "weighted"]
Order = Literal["position", "priority"]


@frozen
class DistributionRequest:
    """What to distribute: the list, how (mode and agents or counts), which records."""

    list_name: str
    mode: Mode
    agents: tuple[str, ...] = ()
    counts: tuple[tuple[str, int], ...] = ()
    scope: Scope = Scope.unassigned
    order: Order = "position"
    allow_partial: bool = False


@frozen
class DistributionResult:
    """What a distribution did: records given to each agent."""

    list_name: str
    scope: Scope
    shares: tuple[Share, ...]
    job_id: int | None = None

    @property
    def assigned(self) -> int:
        """Records assigned in all."""
        return sum(share.count for share in self.shares)


class DistributionService:
    """Agents and distribution for one engine (``Reach.distribution``)."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.storage = context.storage
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    # -- agents --------------------------------------------------------------------

    def add_agent(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        weight: float = 1.0,
        capacity: int | None = None,
    ) -> Agent:
        """Add an agent (or update its name, weight and capacity); it is active."""
        agent_id = agent_id.strip()
        if not agent_id:
            raise InvalidInput("an agent id is required", code="agent.id_missing")
        if weight <= 0:
            raise InvalidInput(
                f"the weight of agent {agent_id} must be above zero, not {weight}",
                code="agent.bad_weight",
                details={"agent": agent_id, "weight": weight},
            )
        agent = Agent(id=agent_id, name=name, active=True, weight=weight, capacity=capacity)
        self.storage.save_agent(agent)
        return agent

    def deactivate_agent(self, agent_id: str) -> Agent:
        """Mark an agent inactive: it gets no new records (its records stay with it)."""
        agent = attrs.evolve(self.agent(agent_id), active=False)
        self.storage.save_agent(agent)
        return agent

    def agent(self, agent_id: str) -> Agent:
        """One agent; NotFound if unknown."""
        agent = self.storage.get_agent(agent_id)
        if agent is None:
            raise NotFound(f"there is no agent {agent_id!r}", code="agent.not_found")
        return agent

    def agents(self, *, active_only: bool = False) -> list[Agent]:
        """Agents by id."""
        return self.storage.agents(active_only=active_only)

    # -- distribution -----------------------------------------------------------------

    def distribute(
        self, request: DistributionRequest, *, role: Role | None = None
    ) -> DistributionResult:
        """Distribute now. Unknown or inactive agents are refused before anything moves."""
        if role is not None:
            check(role, Action.distribute)
        target = self._list(request.list_name)
        planner = self._planner(request)
        shares = self.storage.distribute(
            target.id,
            scope=request.scope,
            planner=planner,
            order=request.order,
            now=self.context.now(),
        )
        return DistributionResult(list_name=target.name, scope=request.scope, shares=shares)

    def schedule(
        self, request: DistributionRequest, *, at: datetime, created_by: str | None = None
    ) -> ScheduledJob:
        """Store a distribution plan to run at ``at`` (checked now, run later)."""
        self._list(request.list_name)
        self._planner(request)
        if at.tzinfo is None:
            raise InvalidInput(
                "the distribution time needs a timezone", code="distribution.naive_time"
            )
        job = ScheduledJob(
            id=0,
            kind=JOB_KIND,
            payload=_request_payload(request),
            run_at=at,
            created_by=created_by,
            created_at=self.context.now(),
        )
        return self.storage.create_job(job)

    def plans(self) -> list[ScheduledJob]:
        """Scheduled distribution plans, newest first."""
        return self.storage.jobs(JOB_KIND)

    def run_due(self) -> list[ScheduledJob]:
        """Run every distribution plan whose time has come."""
        now = self.context.now()
        finished: list[ScheduledJob] = []
        for job in self.storage.claim_due_jobs(
            JOB_KIND, worker=self.worker, now=now, lease=JOB_LEASE
        ):
            try:
                result = self.distribute(_request_from_payload(job.payload))
            except (InvalidInput, NotFound) as exc:
                self.storage.finish_job(
                    job.id, state=JobState.failed, now=self.context.now(), error=str(exc)
                )
            else:
                self.storage.finish_job(
                    job.id,
                    state=JobState.done,
                    now=self.context.now(),
                    result={"shares": [[s.agent, s.count] for s in result.shares]},
                )
            done = self.storage.get_job(job.id)
            if done is not None:
                finished.append(done)
        return finished

    # -- manual work ----------------------------------------------------------------

    def assign(self, list_name: str, *, agent: str, query: ContactQuery, limit: int | None) -> int:
        """Give up to ``limit`` records matching ``query`` to one agent (import order)."""
        target = self._list(list_name)
        self._active_agents([agent])
        return self.storage.assign_matching(
            attrs.evolve(query, list_id=target.id), agent=agent, limit=limit, now=self.context.now()
        )

    def mark(self, contact_id: int, status: ProcessingStatus) -> Contact:
        """An agent records the processing status of a record they worked."""
        return self.storage.mark_processed(contact_id, status=status, now=self.context.now())

    def stats(self, list_name: str) -> TaskStats:
        """total, completed, assigned, unassigned and per-agent figures of a task."""
        return self.storage.task_stats(self._list(list_name).id, now=self.context.now())

    # -- private ---------------------------------------------------------------------

    def _list(self, name: str) -> ContactList:
        found = self.storage.get_list(name)
        if found is None:
            raise NotFound(f"there is no list {name!r}", code="list.not_found")
        return found

    def _active_agents(self, agent_ids: Sequence[str]) -> None:
        known = {a.id: a for a in self.storage.agents()}
        unknown = [a for a in agent_ids if a not in known]
        if unknown:
            raise NotFound(
                f"unknown agent(s): {', '.join(unknown)}; add them with `massreach agents add`",
                code="agent.not_found",
                details={"agents": unknown},
            )
        inactive = [a for a in agent_ids if not known[a].active]
        if inactive:
            raise InvalidInput(
                f"inactive agent(s) get no records: {', '.join(inactive)}",
                code="agent.inactive",
                details={"agents": inactive},
            )

    def _planner(self, request: DistributionRequest) -> EvenSplit | WeightedSplit | CountSplit:
        if request.mode == "counts":
            if not request.counts:
                raise InvalidInput(
                    "give a count per agent, e.g. 6001=50,6002=30", code="distribution.no_agents"
                )
            self._active_agents([agent for agent, _ in request.counts])
            return CountSplit(request.counts, allow_partial=request.allow_partial)
        agents = list(request.agents)
        if not agents:
            agents = [a.id for a in self.storage.agents(active_only=True)]
        if not agents:
            raise InvalidInput(
                "there is no active agent to distribute to", code="distribution.no_agents"
            )
        self._active_agents(agents)
        if request.mode == "even":
            return EvenSplit(tuple(agents))
        weights = {a.id: a.weight for a in self.storage.agents()}
        return WeightedSplit(tuple((agent, weights[agent]) for agent in agents))


def _request_payload(request: DistributionRequest) -> dict[str, Any]:
    return {
        "list_name": request.list_name,
        "mode": request.mode,
        "agents": list(request.agents),
        "counts": [[a, c] for a, c in request.counts],
        "scope": request.scope.value,
        "order": request.order,
        "allow_partial": request.allow_partial,
    }


def _request_from_payload(payload: dict[str, Any]) -> DistributionRequest:
    return DistributionRequest(
        list_name=payload["list_name"],
        mode=payload["mode"],
        agents=tuple(payload.get("agents", ())),
        counts=tuple((str(a), int(c)) for a, c in payload.get("counts", ())),
        scope=Scope(payload.get("scope", "unassigned")),
        order=payload.get("order", "position"),
        allow_partial=bool(payload.get("allow_partial", False)),
    )
