"""Templates, campaigns and audiences in SQL.

An audience is computed in the database: the campaign's source (one list, or the
whole contacts table), the target of each contact for the channel (``phone``,
``email``, another attribute or a custom field), reachable when the target is
not empty and not on the opt-out list, and restricted to the campaign's tags.
:meth:`SqlCampaigns.expand_audience` is ONE ``INSERT INTO outbox … SELECT … ON
CONFLICT DO NOTHING``: no contact passes through Python, and the
``UNIQUE (campaign_id, target_key)`` constraint keeps one message per target. A
new message does not copy its contact's variables: they are read through the
contact until the contact changes or is deleted, when they are frozen onto the
message first (``SqlContacts._freeze_variables``), so a message always carries
the variables its contact had when the audience was expanded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from massreach.adapters.sql_base import SqlBase
from massreach.adapters.sql_rows import (
    CAMPAIGN_COLUMNS,
    CONTACT_COLUMNS,
    TEMPLATE_COLUMNS,
    campaign_from_row,
    campaign_params,
    columns,
    contact_from_row,
    template_from_row,
)
from massreach.errors import ConflictError, NotFound
from massreach.model import AudienceFigures, Campaign, Contact, TagFigure, Template

__all__ = ["SqlCampaigns"]

_CAMPAIGN_SELECT = f"SELECT {columns(CAMPAIGN_COLUMNS)} FROM campaigns"
_ATTRIBUTES = frozenset({"name", "description", "gender", "crm_id"})


def _name_taken(name: str) -> ConflictError:
    return ConflictError(
        f"A campaign named {name!r} already exists.",
        code="campaign.name_taken",
        details={"name": name},
    )


class SqlCampaigns(SqlBase):
    """Templates, campaigns, audience figures and audience expansion."""

    # -- templates ---------------------------------------------------------------------
    def save_template(self, template: Template) -> None:
        """Add or replace a template by name."""
        t = template
        with self._write() as tx:
            tx.run(
                f"INSERT INTO templates ({columns(TEMPLATE_COLUMNS)})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " channel = excluded.channel, body = excluded.body, subject = excluded.subject,"
                " html = excluded.html, registered = excluded.registered,"
                " brandname = excluded.brandname, created_at = excluded.created_at",
                (
                    t.name,
                    t.channel,
                    t.body,
                    t.subject,
                    t.html,
                    t.registered,
                    t.brandname,
                    self.dialect.ts(t.created_at),
                ),
            )

    def get_template(self, name: str) -> Template | None:
        """One template by name."""
        with self._read() as tx:
            row = tx.row(
                f"SELECT {columns(TEMPLATE_COLUMNS)} FROM templates WHERE name = ?", (name,)
            )
        return None if row is None else template_from_row(self.dialect, row)

    def templates(self) -> list[Template]:
        """Every template by name."""
        with self._read() as tx:
            rows = tx.rows(f"SELECT {columns(TEMPLATE_COLUMNS)} FROM templates")
        return sorted((template_from_row(self.dialect, r) for r in rows), key=lambda t: t.name)

    # -- campaigns ---------------------------------------------------------------------
    def _campaign_values(self, campaign: Campaign) -> tuple[list[str], list[str], list[Any]]:
        values = campaign_params(self.dialect, campaign)
        names = list(values)
        marks = [self.dialect.jp if n == "source" else "?" for n in names]
        return names, marks, list(values.values())

    def create_campaign(self, campaign: Campaign) -> Campaign:
        """Store a new campaign (id ignored); ConflictError if the name is taken."""
        names, marks, values = self._campaign_values(campaign)
        with self._write() as tx:
            try:
                campaign_id = tx.value(
                    f"INSERT INTO campaigns ({', '.join(names)}) VALUES ({', '.join(marks)})"
                    " RETURNING id",
                    values,
                )
            except Exception as exc:
                raise self._conflict(exc, _name_taken(campaign.name)) from exc
            row = tx.row(f"{_CAMPAIGN_SELECT} WHERE id = ?", (campaign_id,))
        return campaign_from_row(self.dialect, row)

    def save_campaign(self, campaign: Campaign) -> None:
        """Overwrite a stored campaign; NotFound if unknown, ConflictError on a taken name."""
        names, marks, values = self._campaign_values(campaign)
        sets = ", ".join(f"{n} = {m}" for n, m in zip(names, marks, strict=True))
        with self._write() as tx:
            try:
                changed = tx.run(
                    f"UPDATE campaigns SET {sets} WHERE id = ?", [*values, campaign.id]
                )
            except Exception as exc:
                raise self._conflict(exc, _name_taken(campaign.name)) from exc
        if not changed:
            raise NotFound(
                f"There is no campaign with id {campaign.id}.",
                code="campaign.not_found",
                details={"campaign_id": campaign.id},
            )

    def get_campaign(self, name: str) -> Campaign | None:
        """One campaign by name."""
        with self._read() as tx:
            row = tx.row(f"{_CAMPAIGN_SELECT} WHERE name = ?", (name,))
        return None if row is None else campaign_from_row(self.dialect, row)

    def get_campaign_by_id(self, campaign_id: int) -> Campaign | None:
        """One campaign by id."""
        with self._read() as tx:
            row = tx.row(f"{_CAMPAIGN_SELECT} WHERE id = ?", (campaign_id,))
        return None if row is None else campaign_from_row(self.dialect, row)

    def campaigns(self) -> list[Campaign]:
        """Every campaign by id."""
        with self._read() as tx:
            rows = tx.rows(f"{_CAMPAIGN_SELECT} ORDER BY id")
        return [campaign_from_row(self.dialect, row) for row in rows]

    # -- audiences -------------------------------------------------------------------------
    def _source(self, campaign: Campaign, channel_field: str) -> tuple[str, list[Any]]:
        """A subquery ``s``: the source's contacts with ``target`` and ``target_key``."""
        d = self.dialect
        params: list[Any] = []
        if channel_field == "phone":
            target, key = "c.phone", "c.phone"
        elif channel_field == "email":
            target, key = "c.email", "c.email_key"
        elif channel_field in _ATTRIBUTES:
            target, key = f"c.{channel_field}", d.fold(f"c.{channel_field}")
        else:
            target, key = d.member("c.fields"), d.fold(d.member("c.fields"))
            params += [d.member_key(channel_field), d.member_key(channel_field)]
        where = "1 = 1"
        if campaign.source.list_id is not None:
            where = "c.list_id = ?"
            params.append(campaign.source.list_id)
        return (
            f"SELECT c.*, {target} AS target, {key} AS target_key FROM contacts c WHERE {where}",
            params,
        )

    @staticmethod
    def _reachable() -> str:
        return (
            "(s.target IS NOT NULL AND s.target <> '' AND NOT EXISTS"
            " (SELECT 1 FROM opt_outs o WHERE o.target_key = s.target_key))"
        )

    def _tagged(self, campaign: Campaign) -> tuple[str, list[Any]]:
        if not campaign.source.tags:
            return "1 = 1", []
        return self.dialect.any_tag("s.tags", campaign.source.tags)

    def audience_figures(self, campaign: Campaign, *, channel_field: str) -> AudienceFigures:
        """Total contacts in the source, reachable audience, and per tag of the source
        ``reachable/total``."""
        d = self.dialect
        source, params = self._source(campaign, channel_field)
        tagged, tag_params = self._tagged(campaign)
        reachable = self._reachable()
        with self._read() as tx:
            total = int(tx.value(f"SELECT count(*) FROM ({source}) s", params))
            audience = int(
                tx.value(
                    f"SELECT count(*) FROM ({source}) s WHERE {reachable} AND {tagged}",
                    params + tag_params,
                )
            )
            rows = tx.rows(
                "SELECT tag, count(*), sum(r) FROM (SELECT DISTINCT s.id, t.value AS tag,"
                f" CASE WHEN {reachable} THEN 1 ELSE 0 END AS r"
                f" FROM ({source}) s, {d.elements('s.tags', 't')}) x GROUP BY tag",
                params,
            )
        return AudienceFigures(
            total=total,
            reachable=audience,
            tags=tuple(
                TagFigure(str(tag), int(r), int(n)) for tag, n, r in sorted(rows, key=_first)
            ),
        )

    def audience(
        self, campaign: Campaign, *, channel_field: str, limit: int, after_id: int = 0
    ) -> list[Contact]:
        """Reachable audience contacts by id (``id > after_id``), at most ``limit``."""
        source, params = self._source(campaign, channel_field)
        tagged, tag_params = self._tagged(campaign)
        with self._read() as tx:
            rows = tx.rows(
                f"SELECT {columns(CONTACT_COLUMNS, 's')} FROM ({source}) s"
                f" WHERE {self._reachable()} AND {tagged} AND s.id > ? ORDER BY s.id LIMIT ?",
                [*params, *tag_params, after_id, max(limit, 0)],
            )
        return [contact_from_row(self.dialect, row) for row in rows]

    def expand_audience(self, campaign: Campaign, *, channel_field: str, now: datetime) -> int:
        """One pending message per distinct target of the reachable audience not yet
        in the campaign's outbox, in contact order; returns how many were created."""
        d = self.dialect
        source, params = self._source(campaign, channel_field)
        tagged, tag_params = self._tagged(campaign)
        due = campaign.scheduled_at or now
        with self._write() as tx:
            d.tune_bulk(tx.cur)
            return tx.run(
                "INSERT INTO outbox (campaign_id, target, target_key, contact_id, variables,"
                " state, attempts, due_at, updated_at)"
                " SELECT ?, s.target, s.target_key, s.id, NULL, 'pending', 0, ?, ?"
                f" FROM ({source}) s WHERE {self._reachable()} AND {tagged} ORDER BY s.id"
                " ON CONFLICT (campaign_id, target_key) DO NOTHING",
                [campaign.id, d.ts(due), d.ts(now), *params, *tag_params],
            )


def _first(row: Any) -> str:
    return str(row[0])
