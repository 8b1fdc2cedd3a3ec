"""``SqlStorage``: the one SQL implementation of the storage protocol.

SQLite and PostgreSQL share every statement; what differs is the
:class:`~massreach.adapters.sql_dialect.Dialect` and how a backend opens its
transactions. The parts, by area:

- :mod:`~massreach.adapters.sql_contacts`: lists and contacts;
- :mod:`~massreach.adapters.sql_distribution`: agents, distribution, task figures;
- :mod:`~massreach.adapters.sql_jobs`: scheduled jobs (distribution plans);
- :mod:`~massreach.adapters.sql_plans`: import plans, batches, files, mappings;
- :mod:`~massreach.adapters.sql_campaigns`: templates, campaigns, audiences;
- :mod:`~massreach.adapters.sql_outbox`: claims, outcomes, delivery reports;
- :mod:`~massreach.adapters.sql_counters`: counters, windows, rate slots, opt-outs;
- :mod:`~massreach.adapters.sql_schema`: the schema and its migrations.

A backend subclasses :class:`SqlStorage` and provides ``_write``, ``_read`` and
``close`` (see :mod:`~massreach.adapters.sqlite_storage` and
:mod:`~massreach.adapters.postgres_backend`).
"""

from __future__ import annotations

from massreach.adapters.sql_campaigns import SqlCampaigns
from massreach.adapters.sql_counters import SqlCounters
from massreach.adapters.sql_distribution import SqlDistribution
from massreach.adapters.sql_jobs import SqlJobs
from massreach.adapters.sql_outbox import SqlOutbox
from massreach.adapters.sql_plans import SqlPlans

__all__ = ["SqlStorage"]


class SqlStorage(SqlPlans, SqlDistribution, SqlJobs, SqlCampaigns, SqlOutbox, SqlCounters):
    """Every method of the :class:`~massreach.storage.Storage` protocol, in SQL."""

    def close(self) -> None:
        """Release connections and files."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"
