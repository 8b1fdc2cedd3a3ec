"""Benchmark of the SQL storage backends (not a test).

For SQLite and PostgreSQL, on one list of ``--rows`` contacts (default 1,000,000):

- distribute: ``Storage.distribute`` of every record to ``--agents`` agents (even
  split, import order), against a single ``UPDATE contacts SET owner = 'x'`` of all
  rows measured in the same run on the same table;
- expand: ``Storage.expand_audience`` of the whole list (one tag) into outbox
  messages, messages/s and peak RSS, against a raw ``INSERT INTO outbox … SELECT``
  of the same rows. Each expansion runs in a fresh process so that its peak RSS
  (``resource.getrusage``) is its own; a ``--small`` list (default 100,000) is
  expanded too, to show that memory does not grow with the audience.

Run: ``.venv/bin/python benchmarks/bench_storage_sql.py [--rows N] [--agents N]
[--backends sqlite,postgresql] [--pg-url URL]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

try:
    from benchmarks.table import record
except ImportError:  # run as a plain script from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.table import record
from massreach.adapters.postgres_backend import PostgresStorage
from massreach.adapters.sql_store import SqlStorage
from massreach.adapters.sqlite_storage import SqliteStorage
from massreach.core.distribution import EvenSplit, Scope
from massreach.core.lifecycle import CampaignKind, CampaignState
from massreach.model import Campaign, CampaignSource, ContactDraft
from massreach.model.contacts import ListFeed

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BATCH = 50_000


def open_storage(url: str) -> SqlStorage:
    return PostgresStorage(url) if url.startswith("postgres") else SqliteStorage(url)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def populate(storage: SqlStorage, name: str, rows: int) -> int:
    """A list of ``rows`` contacts with a phone, an email, a name, variables and a tag."""
    lst = storage.create_list(name, feed=ListFeed.csv, created_by="bench", now=NOW)
    prefix = abs(hash(name)) % 90 + 10
    for start in range(0, rows, BATCH):
        drafts = [
            ContactDraft(
                list_id=lst.id,
                phone=f"+849{prefix}{i:07d}",
                email=f"user{i}@example.com",
                name=f"Customer {i}",
                tags=("vip",),
                fields={"param0": f"{i}", "balance": f"{i % 997}.00"},
            )
            for i in range(start, min(start + BATCH, rows))
        ]
        storage.add_contacts(drafts, now=NOW)
    return lst.id


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def settle(storage: SqlStorage, table: str) -> None:
    """Start a measured step from a clean table: VACUUM on PostgreSQL (dead rows of
    the previous step), a WAL checkpoint on SQLite. Not measured."""
    if isinstance(storage, SqliteStorage):
        storage._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    elif isinstance(storage, PostgresStorage):
        with storage._pool.connection() as conn:
            conn.autocommit = True
            conn.execute(f"VACUUM ANALYZE {table}")
            conn.autocommit = False


# -- distribution ------------------------------------------------------------------------
def bench_distribute(storage: SqlStorage, list_id: int, agents: int) -> dict[str, float]:
    def baseline() -> None:
        with storage._write() as tx:
            tx.run("UPDATE contacts SET owner = 'x' WHERE list_id = ?", (list_id,))

    def reset() -> None:
        with storage._write() as tx:
            tx.run("UPDATE contacts SET owner = NULL WHERE list_id = ?", (list_id,))

    names = [f"{6000 + k}" for k in range(agents)]
    settle(storage, "contacts")
    raw, _ = timed(baseline)
    reset()
    settle(storage, "contacts")
    seconds, shares = timed(
        lambda: storage.distribute(
            list_id,
            scope=Scope.unassigned,
            planner=EvenSplit(names),
            order="position",
            now=NOW,
        )
    )
    assert sum(share.count for share in shares) > 0
    stats = storage.task_stats(list_id, now=NOW)
    assert stats.unassigned == 0 and len(stats.agents) == agents
    return {"distribute_s": seconds, "baseline_update_s": raw}


# -- expansion (each in its own process) ---------------------------------------------------
def _expand_child(url: str, list_id: int, raw: bool, out: Any) -> None:
    storage = open_storage(url)
    try:
        campaign = storage.create_campaign(
            Campaign(
                id=0,
                name=f"bench-{uuid.uuid4().hex[:8]}",
                channel="sms",
                kind=CampaignKind.ads,
                template="t",
                source=CampaignSource(list_id=list_id, tags=("vip",)),
                state=CampaignState.sending,
            )
        )
        rss_before = peak_rss_mb()
        if raw:

            def insert_select() -> int:
                d = storage.dialect
                with storage._write() as tx:
                    return tx.run(
                        "INSERT INTO outbox (campaign_id, target, target_key, contact_id,"
                        f" variables, state, due_at) SELECT ?, phone, phone, id, {d.jp},"
                        " 'pending', ? FROM contacts WHERE list_id = ?",
                        (campaign.id, "{}", d.ts(NOW), list_id),
                    )

            seconds, count = timed(insert_select)
        else:
            seconds, count = timed(
                lambda: storage.expand_audience(campaign, channel_field="phone", now=NOW)
            )
        out.put(
            {
                "seconds": seconds,
                "messages": count,
                "peak_rss_mb": peak_rss_mb(),
                "rss_before_mb": rss_before,
            }
        )
    finally:
        storage.close()


def clear_outbox(url: str) -> None:
    """Empty the outbox (and, on SQLite, the write-ahead log) between runs."""
    storage = open_storage(url)
    try:
        with storage._write() as tx:
            tx.run("DELETE FROM outbox")
        settle(storage, "outbox")
    finally:
        storage.close()


# -- backends ------------------------------------------------------------------------------
@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="massreach-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_url(server: str) -> Iterator[str]:
    schema = f"mr_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            joiner = "&" if "?" in server else "?"
            yield f"{server}{joiner}options={quote(f'-csearch_path={schema}')}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _setup_child(url: str, args: argparse.Namespace, out: Any) -> None:
    storage = open_storage(url)
    try:
        seconds, big = timed(lambda: populate(storage, "big", args.rows))
        small = populate(storage, "small", args.small)
        result = bench_distribute(storage, big, args.agents)
        out.put({"setup_s": seconds, "big": big, "small": small, **result})
    finally:
        storage.close()


def in_child(target: Callable[..., None], *args: Any) -> dict[str, Any]:
    """Run ``target(*args, queue)`` in a fresh process and return what it put.
    The parent stays small, so each child's peak RSS (which Linux carries over
    from the parent at fork) is the child's own."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=target, args=(*args, queue))
    child.start()
    result: dict[str, Any] = queue.get()
    child.join()
    return result


def run_backend(label: str, url: str, args: argparse.Namespace) -> None:
    print(f"\n== {label} ({args.rows:,} contacts) ==", flush=True)
    d = in_child(_setup_child, url, args)
    print(f"setup: {args.rows:,} contacts stored in {d['setup_s']:.1f} s", flush=True)
    print(
        f"distribute {args.rows:,} records to {args.agents} agents: "
        f"{d['distribute_s']:.2f} s; single UPDATE of all rows: "
        f"{d['baseline_update_s']:.2f} s; ratio {d['distribute_s'] / d['baseline_update_s']:.2f}",
        flush=True,
    )
    record(
        f"{label}: distribute {args.rows:,} records to {args.agents} agents",
        d["distribute_s"],
        "s",
        d["baseline_update_s"],
        "s single UPDATE of all rows",
    )
    clear_outbox(url)
    raw = in_child(_expand_child, url, d["big"], True)
    print(
        f"raw INSERT ... SELECT of {raw['messages']:,} rows: {raw['seconds']:.2f} s, "
        f"{raw['messages'] / raw['seconds']:,.0f} rows/s",
        flush=True,
    )
    for name in ("small", "big"):
        clear_outbox(url)
        e = in_child(_expand_child, url, d[name], False)
        print(
            f"expand_audience ({name}): {e['messages']:,} messages in {e['seconds']:.2f} s = "
            f"{e['messages'] / e['seconds']:,.0f} messages/s; peak RSS {e['peak_rss_mb']:.0f} MB "
            f"(before expanding {e['rss_before_mb']:.0f} MB)",
            flush=True,
        )
        record(
            f"{label}: expand_audience {e['messages']:,} messages",
            e["messages"] / e["seconds"],
            "msg/s",
            raw["messages"] / raw["seconds"],
            "rows/s raw INSERT…SELECT",
        )
        record(f"{label}: expand_audience {e['messages']:,}: peak RSS", e["peak_rss_mb"], "MB")
        if name == "big":
            print(
                f"expand vs raw INSERT ... SELECT: "
                f"{(e['messages'] / e['seconds']) / (raw['messages'] / raw['seconds']):.2f}",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "MASSREACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with sqlite_url() as url:
                run_backend("SQLite", url, args)
        elif backend == "postgresql":
            with postgres_url(args.pg_url) as url:
                run_backend("PostgreSQL", url, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
