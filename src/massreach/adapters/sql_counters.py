"""Quota counters, rolling windows, shared rate slots and the opt-out list in SQL.

Everything here is shared by every worker and must be atomic:

- counters: the rows are created if missing (``ON CONFLICT DO NOTHING``), then
  read with ``FOR UPDATE`` in key order (so two workers never deadlock), checked
  and incremented in the same transaction: all or nothing;
- rolling windows and rate slots: a transaction-scoped lock on the key
  (``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), then
  read, decide and write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from massreach.adapters.sql_base import SqlBase
from massreach.errors import InvalidInput

__all__ = ["SqlCounters"]


def _fold(target: str) -> str:
    """The comparison key of an opt-out target (emails compare case-insensitively)."""
    return target.casefold()


class SqlCounters(SqlBase):
    """Counters, windows, rate slots and opt-outs."""

    def reserve_counters(self, limits: Sequence[tuple[str, int]]) -> bool:
        """Atomically: if every counter ``key`` is below its ``limit``, add one to each
        and return True; otherwise change nothing and return False."""
        wanted: dict[str, int] = {}
        for key, limit in limits:
            wanted[key] = min(limit, wanted.get(key, limit))
        if not wanted:
            return True
        d = self.dialect
        keys = sorted(wanted)
        with self._write() as tx:
            tx.many(
                "INSERT INTO counters (key, value) VALUES (?, 0) ON CONFLICT (key) DO NOTHING",
                [(key,) for key in keys],
            )
            rows = tx.rows(
                f"SELECT key, value FROM counters WHERE {d.in_('key')} ORDER BY key{d.for_update}",
                (d.many(keys),),
            )
            if any(int(value) >= wanted[key] for key, value in rows):
                return False
            tx.run(f"UPDATE counters SET value = value + 1 WHERE {d.in_('key')}", (d.many(keys),))
        return True

    def release_counters(self, keys: Sequence[str]) -> None:
        """Take one back from each counter (never below zero)."""
        with self._write() as tx:
            for key in keys:
                tx.run("UPDATE counters SET value = value - 1 WHERE key = ? AND value > 0", (key,))

    def counter_values(self, keys: Sequence[str]) -> dict[str, int]:
        """Current values (0 for unknown keys)."""
        d = self.dialect
        with self._read() as tx:
            rows = tx.rows(
                f"SELECT key, value FROM counters WHERE {d.in_('key')}", (d.many(set(keys)),)
            )
        stored = {str(key): int(value) for key, value in rows}
        return {key: stored.get(key, 0) for key in keys}

    def reserve_window(
        self, key: str, *, now: datetime, window: timedelta, limit: int
    ) -> datetime | None:
        """Rolling-window cap: record an event at ``now`` if fewer than ``limit`` lie in
        ``(now - window, now]`` and return None; otherwise the first time one more fits.
        Events that left the window (older than ``now - window``) are removed: a key
        is always used with the same window."""
        if limit < 1 or window <= timedelta(0):
            raise InvalidInput(
                "A rolling window needs a limit of at least 1 and a positive length.",
                code="storage.bad_window",
                details={"key": key, "limit": limit, "window": str(window)},
            )
        d = self.dialect
        with self._write() as tx:
            d.lock_key(tx.cur, f"window:{key}")
            rows = tx.rows(
                "SELECT at FROM window_events WHERE key = ? AND at > ? AND at <= ? ORDER BY at",
                (key, d.ts(now - window), d.ts(now)),
            )
            inside = [at for row in rows if (at := d.from_ts(row[0])) is not None]
            if len(inside) >= limit:
                return inside[len(inside) - limit] + window
            tx.run("INSERT INTO window_events (key, at) VALUES (?, ?)", (key, d.ts(now)))
            tx.run("DELETE FROM window_events WHERE key = ? AND at <= ?", (key, d.ts(now - window)))
        return None

    def release_window(self, key: str, *, at: datetime) -> bool:
        """Take back ONE event of ``key`` recorded at ``at`` (a reserved send that did
        not happen); False when there is none."""
        d = self.dialect
        with self._write() as tx:
            d.lock_key(tx.cur, f"window:{key}")
            return (
                tx.run(
                    f"DELETE FROM window_events WHERE {d.row_id} = (SELECT {d.row_id}"
                    " FROM window_events WHERE key = ? AND at = ? LIMIT 1)",
                    (key, d.ts(at)),
                )
                > 0
            )

    def take_rate_slot(self, key: str, *, rate_per_second: float, now: datetime) -> float:
        """Shared rate limit: book the next send slot of ``key`` (slots ``1 / rate``
        apart); returns how many seconds to wait before using it."""
        if not rate_per_second > 0:
            raise InvalidInput(
                "A send rate must be a positive number of messages per second.",
                code="storage.bad_rate",
                details={"key": key, "rate_per_second": rate_per_second},
            )
        d = self.dialect
        with self._write() as tx:
            d.lock_key(tx.cur, f"rate:{key}")
            stored = d.from_ts(tx.value("SELECT next_at FROM rate_slots WHERE key = ?", (key,)))
            slot = now if stored is None else max(now, stored)
            following = d.ts(slot + timedelta(seconds=1 / rate_per_second))
            tx.run(
                "INSERT INTO rate_slots (key, next_at) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET next_at = excluded.next_at",
                (key, following),
            )
        return (slot - now).total_seconds()

    def add_opt_outs(self, targets: Sequence[str], *, now: datetime) -> int:
        """Add phones (E.164) or emails to the opt-out list; returns how many were new."""
        unique = {_fold(target): target for target in reversed(targets)}
        stamp = self.dialect.ts(now)
        with self._write() as tx:
            added = 0
            for key, target in sorted(unique.items()):
                added += tx.run(
                    "INSERT INTO opt_outs (target_key, target, created_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (target_key) DO NOTHING",
                    (key, target, stamp),
                )
        return added

    def remove_opt_out(self, target: str) -> bool:
        """Remove one target from the opt-out list."""
        with self._write() as tx:
            return tx.run("DELETE FROM opt_outs WHERE target_key = ?", (_fold(target),)) > 0

    def opted_out(self, targets: Sequence[str]) -> set[str]:
        """Which of ``targets`` are opted out (emails case-insensitively)."""
        if not targets:
            return set()
        d = self.dialect
        with self._read() as tx:
            rows = tx.rows(
                f"SELECT target_key FROM opt_outs WHERE {d.in_('target_key')}",
                (d.many({_fold(t) for t in targets}),),
            )
        found = {str(row[0]) for row in rows}
        return {target for target in targets if _fold(target) in found}
