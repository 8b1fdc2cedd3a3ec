"""Agents and the distribution of a list's records to them, set-based.

:meth:`SqlDistribution.distribute` is three statements whatever the size of the
list: the records in scope are numbered in the stable order into a scratch table
(``row_number() OVER (ORDER BY …)`` on PostgreSQL, the rowids of an ordered insert
on SQLite), which also counts them; the planner turns the count into shares, which
become a small table of ranges (``hi`` → agent: share *k* covers the numbers up to
the sum of the first *k* counts); then ONE ``UPDATE … FROM`` joins the numbered
records and looks each number up in the ranges. The list row is locked first
(``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so two distributions
of one list run one after the other and never give a record twice.

Scope and order follow :mod:`massreach.core.distribution`: a pinned callback
(``callback_at`` still ahead) is in no scope; ``unassigned`` takes records with no
owner, ``unprocessed`` every record not yet worked (owned or not: records taken
back change owner). Records in scope beyond the sum of the shares keep their owner.
"""

from __future__ import annotations

from datetime import datetime

from massreach.adapters.sql_base import SqlBase
from massreach.adapters.sql_contacts import SqlContacts
from massreach.adapters.sql_rows import (
    AGENT_COLUMNS,
    CONTACT_COLUMNS,
    agent_from_row,
    columns,
    contact_from_row,
)
from massreach.core.distribution import ProcessingStatus, Scope, Share
from massreach.errors import InvalidInput, NotFound
from massreach.model import Agent, AgentFigures, Contact, ContactQuery, TaskStats
from massreach.storage.protocol import SharePlanner

__all__ = ["SqlDistribution"]

_ORDERS = {
    "position": "c.position, c.id",
    "priority": "(CASE WHEN c.priority IS NULL THEN 1 ELSE 0 END), c.priority DESC,"
    " c.position, c.id",
}
_NOT_PINNED = "NOT (c.callback_at IS NOT NULL AND c.callback_at > ?)"
_SCOPES = {Scope.unassigned: "c.owner IS NULL", Scope.unprocessed: "c.status = 'unprocessed'"}


class SqlDistribution(SqlContacts, SqlBase):
    """Agents, distribution, manual assignment, processing status and task figures."""

    # -- agents ------------------------------------------------------------------------
    def save_agent(self, agent: Agent) -> None:
        """Add or replace an agent."""
        with self._write() as tx:
            tx.run(
                f"INSERT INTO agents ({columns(AGENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                " active = excluded.active, weight = excluded.weight,"
                " capacity = excluded.capacity",
                (agent.id, agent.name, agent.active, agent.weight, agent.capacity),
            )

    def agents(self, *, active_only: bool = False) -> list[Agent]:
        """Agents by id."""
        with self._read() as tx:
            rows = tx.rows(f"SELECT {columns(AGENT_COLUMNS)} FROM agents")
        found = sorted((agent_from_row(row) for row in rows), key=lambda a: a.id)
        return [agent for agent in found if agent.active or not active_only]

    def get_agent(self, agent_id: str) -> Agent | None:
        """One agent by id."""
        with self._read() as tx:
            row = tx.row(f"SELECT {columns(AGENT_COLUMNS)} FROM agents WHERE id = ?", (agent_id,))
        return None if row is None else agent_from_row(row)

    # -- distribution ----------------------------------------------------------------------
    def distribute(
        self,
        list_id: int,
        *,
        scope: Scope,
        planner: SharePlanner,
        order: str,
        now: datetime,
    ) -> tuple[Share, ...]:
        """Atomically count the records in scope, ask ``planner`` for the shares and
        hand the records out in ``order``, one ``UPDATE`` for the whole list."""
        if order not in _ORDERS:
            raise InvalidInput(
                f"Records can be ordered by 'position' or 'priority', not {order!r}.",
                code="distribution.bad_order",
                details={"field": order},
            )
        d = self.dialect
        scope = Scope(scope)
        source = f"FROM contacts c WHERE c.list_id = ? AND {_NOT_PINNED} AND {_SCOPES[scope]}"
        with self._write() as tx:
            if tx.value(f"SELECT id FROM lists WHERE id = ?{d.for_update}", (list_id,)) is None:
                raise self._no_list(list_id)
            ranked, ranges = d.scratch_tables(tx.cur)
            d.tune_bulk(tx.cur)
            total = tx.run(d.rank(ranked, source, _ORDERS[order]), (list_id, d.ts(now)))
            shares = tuple(planner(total))
            given = sum(share.count for share in shares)
            if given > total:
                raise InvalidInput(
                    f"{given} records were asked for but only {total} are available.",
                    code="distribution.not_enough_records",
                    details={"requested": given, "available": total},
                )
            if given == 0:
                return shares
            bounds: list[tuple[int, str]] = []
            for share in shares:
                if share.count:
                    bounds.append(((bounds[-1][0] if bounds else 0) + share.count, share.agent))
            tx.many(f"INSERT INTO {ranges} (hi, agent) VALUES (?, ?)", bounds)
            tx.run(
                "UPDATE contacts SET"
                f" owner = (SELECT r.agent FROM {ranges} r WHERE r.hi >= k.rn"
                " ORDER BY r.hi LIMIT 1), assigned_at = ?, updated_at = ?"
                f" FROM {ranked} k WHERE contacts.id = k.id AND k.rn <= ?",
                (d.ts(now), d.ts(now), given),
            )
        return shares

    def assign_matching(
        self, query: ContactQuery, *, agent: str, limit: int | None, now: datetime
    ) -> int:
        """Give up to ``limit`` contacts matching ``query`` (unprocessed, not already
        the agent's, not pinned to another agent before their callback date), in
        import order, to ``agent``."""
        if limit is not None and limit <= 0:
            return 0
        d = self.dialect
        where, params = self._where(query)
        sql = (
            f"SELECT c.id FROM contacts c WHERE {where} AND c.status = 'unprocessed'"
            " AND (c.owner IS NULL OR c.owner <> ?)"
            " AND NOT (c.callback_at IS NOT NULL AND c.callback_at > ?"
            " AND (c.callback_agent IS NULL OR c.callback_agent <> ?))"
            " ORDER BY c.list_id, c.position, c.id"
        )
        params += [agent, d.ts(now), agent]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        sql += d.skip_locked
        with self._write() as tx:
            if query.list_id is not None:
                tx.run(f"SELECT id FROM lists WHERE id = ?{d.for_update}", (query.list_id,))
            ids = [row[0] for row in tx.rows(sql, params)]
            if not ids:
                return 0
            return tx.run(
                "UPDATE contacts SET owner = ?, assigned_at = ?, updated_at = ?"
                f" WHERE {d.in_('id')}",
                (agent, d.ts(now), d.ts(now), d.many(ids)),
            )

    def mark_processed(
        self, contact_id: int, *, status: ProcessingStatus, now: datetime
    ) -> Contact:
        """Record the processing status an agent set on a record."""
        status = ProcessingStatus(status)
        done = status is not ProcessingStatus.unprocessed
        d = self.dialect
        with self._write() as tx:
            row = tx.row(
                "UPDATE contacts SET status = ?, processed_at = ?, updated_at = ? WHERE id = ?"
                f" RETURNING {columns(CONTACT_COLUMNS)}",
                (status.value, d.ts(now) if done else None, d.ts(now), contact_id),
            )
        if row is None:
            raise NotFound(
                f"There is no contact with id {contact_id}.",
                code="contact.not_found",
                details={"contact_id": contact_id},
            )
        return contact_from_row(d, row)

    def task_stats(self, list_id: int, *, now: datetime) -> TaskStats:
        """total, completed (status not unprocessed), assigned, unassigned, per agent."""
        worked = "CASE WHEN status <> 'unprocessed' THEN 1 ELSE 0 END"
        with self._read() as tx:
            total, completed = tx.row(
                f"SELECT count(*), coalesce(sum({worked}), 0) FROM contacts WHERE list_id = ?",
                (list_id,),
            )
            per_agent = tx.rows(
                f"SELECT owner, count(*), coalesce(sum({worked}), 0) FROM contacts"
                " WHERE list_id = ? AND owner IS NOT NULL GROUP BY owner",
                (list_id,),
            )
        agents = sorted(
            (AgentFigures(str(owner), int(n), int(w)) for owner, n, w in per_agent),
            key=lambda figures: figures.agent,
        )
        assigned = sum(figures.assigned for figures in agents)
        return TaskStats(
            total=int(total),
            completed=int(completed),
            assigned=assigned,
            unassigned=int(total) - assigned,
            agents=tuple(agents),
        )
