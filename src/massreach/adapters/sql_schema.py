"""The SQL schema of massreach, as an ordered list of migrations.

One schema serves SQLite and PostgreSQL: statements name their column types as
``{id}``, ``{ts}``, ``{json}``, ``{blob}``, ``{bool}``, ``{real}`` and ``{bigint}``,
and the :class:`~massreach.adapters.sql_dialect.Dialect` fills them in. Each
migration is a function ``mNNN_name(dialect) -> statements``; :func:`migrate`
applies the ones not yet listed in the ``massreach_migrations`` table, each in its
own transaction, in order. Migrations are only ever appended, never edited.

Design notes:

- custom fields and tags are JSON (JSONB on PostgreSQL), never columns named after
  file headers; a contact's position is a per-list counter kept on its list row;
- a phone appears once per list (``UNIQUE (phone, list_id)``, which also finds a
  phone in any list); emails are looked up
  by ``email_key``, the casefolded address;
- ``contacts_list (list_id, id)`` pages a list by id and feeds audiences in contact
  order; tags are stored in one exact JSON form (``Dialect.any_tag`` relies on it);
- an outbox message is unique per campaign and target key (the casefolded target),
  so expanding an audience twice never makes a second message;
- a message's ``variables`` stay NULL (read through its contact) until the contact
  changes or is deleted, when they are copied onto it (``outbox_contact`` finds them);
- ``outbox_queue`` serves claims (by campaign, state, due time), counts and views.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from massreach.adapters.sql_base import Tx
from massreach.adapters.sql_dialect import Dialect

__all__ = ["MIGRATIONS", "Migration", "applied_migrations", "migrate"]

Migration = Callable[[Dialect], Sequence[str]]

MIGRATIONS_TABLE = "massreach_migrations"


def m001_initial(d: Dialect) -> Sequence[str]:
    """Lists, contacts, plans, agents, templates, campaigns, outbox, jobs, limits."""
    statements = [
        """CREATE TABLE lists (
            id {id},
            name TEXT NOT NULL UNIQUE,
            feed TEXT NOT NULL,
            created_at {ts},
            created_by TEXT,
            last_position {bigint} NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE contacts (
            id {id},
            list_id {bigint} NOT NULL REFERENCES lists (id),
            position {bigint} NOT NULL,
            phone TEXT,
            email TEXT,
            email_key TEXT,
            name TEXT,
            description TEXT,
            gender TEXT,
            crm_id TEXT,
            tags {json} NOT NULL,
            fields {json} NOT NULL,
            owner TEXT,
            status TEXT NOT NULL,
            callback_at {ts},
            callback_agent TEXT,
            priority {bigint},
            plan_id {bigint},
            assigned_at {ts},
            processed_at {ts},
            created_at {ts},
            updated_at {ts}
        )""",
        "CREATE UNIQUE INDEX contacts_phone_list ON contacts (phone, list_id)",
        "CREATE INDEX contacts_list ON contacts (list_id, id)",
        "CREATE INDEX contacts_email_key ON contacts (email_key) WHERE email_key IS NOT NULL",
        "CREATE INDEX contacts_crm_id ON contacts (crm_id) WHERE crm_id IS NOT NULL",
        """CREATE TABLE plans (
            id {id},
            list_id {bigint} NOT NULL,
            file_name TEXT NOT NULL,
            options {json} NOT NULL,
            state TEXT NOT NULL,
            total {bigint} NOT NULL DEFAULT 0,
            succeeded {bigint} NOT NULL DEFAULT 0,
            failed {bigint} NOT NULL DEFAULT 0,
            duplicates {bigint} NOT NULL DEFAULT 0,
            updated {bigint} NOT NULL DEFAULT 0,
            row_cursor {bigint} NOT NULL DEFAULT 0,
            run_at {ts},
            created_at {ts},
            started_at {ts},
            finished_at {ts},
            creator TEXT,
            file_format TEXT,
            encoding TEXT,
            delimiter TEXT,
            mapping {json} NOT NULL,
            error_code TEXT,
            error_message TEXT,
            lease_owner TEXT,
            lease_until {ts}
        )""",
        """CREATE TABLE row_results (
            plan_id {bigint} NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
            file_row {bigint} NOT NULL,
            outcome TEXT NOT NULL,
            code TEXT NOT NULL,
            message TEXT NOT NULL,
            column_name TEXT,
            contact_id {bigint},
            PRIMARY KEY (plan_id, file_row)
        )""",
        """CREATE TABLE plan_files (
            plan_id {bigint} PRIMARY KEY REFERENCES plans (id) ON DELETE CASCADE,
            suffix TEXT NOT NULL,
            size {bigint} NOT NULL
        )""",
        """CREATE TABLE plan_file_chunks (
            plan_id {bigint} NOT NULL REFERENCES plan_files (plan_id) ON DELETE CASCADE,
            chunk {bigint} NOT NULL,
            data {blob} NOT NULL,
            PRIMARY KEY (plan_id, chunk)
        )""",
        """CREATE TABLE mappings (
            signature TEXT PRIMARY KEY,
            mapping {json} NOT NULL
        )""",
        """CREATE TABLE agents (
            id TEXT PRIMARY KEY,
            name TEXT,
            active {bool} NOT NULL,
            weight {real} NOT NULL,
            capacity {bigint}
        )""",
        """CREATE TABLE templates (
            name TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            body TEXT NOT NULL,
            subject TEXT,
            html TEXT,
            registered {bool} NOT NULL,
            brandname TEXT,
            created_at {ts}
        )""",
        """CREATE TABLE campaigns (
            id {id},
            name TEXT NOT NULL UNIQUE,
            channel TEXT NOT NULL,
            kind TEXT NOT NULL,
            template TEXT NOT NULL,
            source {json} NOT NULL,
            state TEXT NOT NULL,
            brandname TEXT,
            account TEXT,
            transliterate {bool} NOT NULL,
            scheduled_at {ts},
            created_by TEXT,
            sent_by TEXT,
            created_at {ts},
            updated_at {ts}
        )""",
        """CREATE TABLE outbox (
            id {id},
            campaign_id {bigint} NOT NULL,
            target TEXT NOT NULL,
            target_key TEXT NOT NULL,
            contact_id {bigint},
            variables {json},
            state TEXT NOT NULL,
            attempts {bigint} NOT NULL DEFAULT 0,
            due_at {ts} NOT NULL,
            lease_owner TEXT,
            lease_until {ts},
            provider_id TEXT,
            reason TEXT,
            sent_at {ts},
            updated_at {ts},
            UNIQUE (campaign_id, target_key)
        )""",
        "CREATE INDEX outbox_queue ON outbox (campaign_id, state, due_at, id)",
        "CREATE INDEX outbox_provider ON outbox (provider_id) WHERE provider_id IS NOT NULL",
        "CREATE INDEX outbox_contact ON outbox (contact_id) WHERE variables IS NULL",
        """CREATE TABLE reports (
            id {id},
            state TEXT NOT NULL,
            provider_id TEXT,
            client_id TEXT,
            reason TEXT,
            at {ts},
            raw TEXT,
            received_at {ts}
        )""",
        """CREATE TABLE counters (
            key TEXT PRIMARY KEY,
            value {bigint} NOT NULL
        )""",
        """CREATE TABLE window_events (
            key TEXT NOT NULL,
            at {ts} NOT NULL
        )""",
        "CREATE INDEX window_events_key_at ON window_events (key, at)",
        """CREATE TABLE rate_slots (
            key TEXT PRIMARY KEY,
            next_at {ts} NOT NULL
        )""",
        """CREATE TABLE jobs (
            id {id},
            kind TEXT NOT NULL,
            payload {json} NOT NULL,
            run_at {ts} NOT NULL,
            state TEXT NOT NULL,
            created_by TEXT,
            created_at {ts},
            finished_at {ts},
            result {json},
            error TEXT,
            lease_owner TEXT,
            lease_until {ts}
        )""",
        "CREATE INDEX jobs_due ON jobs (kind, state, run_at, id)",
        """CREATE TABLE opt_outs (
            target_key TEXT PRIMARY KEY,
            target TEXT NOT NULL,
            created_at {ts}
        )""",
    ]
    return [d.ddl(statement) for statement in statements]


def m002_contacts_fillfactor(d: Dialect) -> Sequence[str]:
    """PostgreSQL: leave room in each page of ``contacts`` so that the frequent
    updates of unindexed columns (owner, status, assigned and processed times) can
    stay on their page (HOT) instead of adding an entry to every index."""
    if d.name != "postgresql":
        return []
    return ["ALTER TABLE contacts SET (fillfactor = 70)"]


#: Every migration, in the order it is applied. Append only.
MIGRATIONS: tuple[Migration, ...] = (m001_initial, m002_contacts_fillfactor)


def _name(migration: Migration) -> str:
    return migration.__name__


def applied_migrations(tx: Tx) -> set[str]:
    """Names of the migrations already applied (creating the table on first use)."""
    tx.run(
        tx.d.ddl(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
            "(name TEXT PRIMARY KEY, applied_at {ts} NOT NULL)"
        )
    )
    return {str(row[0]) for row in tx.rows(f"SELECT name FROM {MIGRATIONS_TABLE}")}


def migrate(
    transaction: Callable[[], AbstractContextManager[Tx]],
    d: Dialect,
    *,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> list[str]:
    """Apply the migrations not applied yet, each in its own ``transaction()``;
    returns the names applied. Safe when several processes open one database at
    once: the first takes a lock, the others then find nothing left to do."""
    done: list[str] = []
    for migration in migrations:
        with transaction() as tx:
            d.lock_key(tx.cur, MIGRATIONS_TABLE)
            if _name(migration) in applied_migrations(tx):
                continue
            for statement in migration(d):
                tx.run(statement)
            tx.run(
                f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                (_name(migration), d.ts(datetime.now(UTC))),
            )
            done.append(_name(migration))
    return done
