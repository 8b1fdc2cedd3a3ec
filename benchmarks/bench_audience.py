"""Audience expansion on SQLite and template rendering speed (not a test; prints figures).

Run: ``.venv/bin/python benchmarks/bench_audience.py [N]`` (default 1,000,000).

1. Builds an N-contact list in a temporary SQLite database through
   ``storage.add_contacts`` (batches of 50,000; one contact in ten is tagged ``tenth``)
   and two draft SMS campaigns on it: ``full`` (everyone) and ``tenth`` (the tag).
2. In a fresh process each (so that peak memory is the phase's own):
   ``CampaignService.send`` of ``tenth`` and of ``full`` (the render check streams
   every recipient, then ``storage.expand_audience`` inserts the messages): total
   time, expansion time and messages/s, peak RSS (``resource.getrusage``);
   and the raw baseline, ``INSERT INTO scratch SELECT`` of the same N rows into a
   table with the outbox's own schema (same unique key and index), and the ratio.
3. Rendering: ``core.templates`` against ``str.format_map`` on the same template and
   values (target: at least 0.8 of its speed), and the campaign renderer used by the
   preview and the dispatcher (advertising label, variable map).
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from massreach.core.templates import parse_template

try:
    from benchmarks.table import record
except ImportError:  # run as a plain script from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.table import record
from massreach.engine import Reach
from massreach.model import Campaign, CampaignSource, ContactDraft, Template
from massreach.services.rendering import renderer_for

BATCH = 50_000
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
BODY = "Chào {name}, tài khoản {param0} có số dư {param1} đ, hạn thanh toán {param2}."


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(url: str, n: int) -> None:
    """The list of ``n`` contacts and the two draft campaigns."""
    start = time.perf_counter()
    with Reach(url) as reach:
        service = reach.campaigns
        service.add_template("bill", "sms", BODY, registered=True, brandname="BANK")
        lst = reach.storage.create_list("big", feed="csv", created_by="bench", now=NOW)
        for first in range(0, n, BATCH):
            reach.storage.add_contacts(
                [
                    ContactDraft(
                        lst.id,
                        phone=f"+849{i:08d}",
                        name=f"Khách hàng {i}",
                        tags=("all", "tenth") if i % 10 == 0 else ("all",),
                        fields={
                            "param0": f"TK{i:07d}",
                            "param1": f"{i * 7 % 100000}",
                            "param2": "30/11",
                        },
                    )
                    for i in range(first, min(first + BATCH, n))
                ],
                now=NOW,
            )
        for name, tags in (("full", ()), ("tenth", ("tenth",))):
            service.create(
                name,
                channel="sms",
                kind="care",
                template="bill",
                list_name="big",
                tags=tags,
                brandname="BANK",
                user="bench",
                role="manager",
            )
    elapsed = time.perf_counter() - start
    print(f"setup: {n:,} contacts stored in {elapsed:.1f} s ({n / elapsed:,.0f} contacts/s)")


def phase_send(url: str, campaign: str) -> dict[str, Any]:
    """Send one campaign; time the whole send and the expansion inside it."""
    with Reach(url) as reach:
        base = peak_rss_mb()
        timings: dict[str, float] = {}
        expand = reach.storage.expand_audience

        def timed(*args: Any, **kwargs: Any) -> int:
            start = time.perf_counter()
            created = expand(*args, **kwargs)
            timings["expand"] = time.perf_counter() - start
            return created

        reach.storage.expand_audience = timed  # type: ignore[method-assign]
        start = time.perf_counter()
        sent = reach.campaigns.send(campaign, user="bench", role="manager")
        total = time.perf_counter() - start
        messages = sum(reach.storage.message_counts(sent.id).values())
    return {
        "messages": messages,
        "send_s": total,
        "expand_s": timings["expand"],
        "base_mb": base,
        "peak_mb": peak_rss_mb(),
    }


def phase_baseline(path: str) -> dict[str, Any]:
    """``INSERT INTO scratch SELECT`` the same rows into a copy of the outbox's schema."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    base = peak_rss_mb()
    for (sql,) in db.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'outbox' AND sql IS NOT NULL"
    ).fetchall():
        db.execute(sql.replace("outbox", "scratch", 2))
    start = time.perf_counter()
    db.execute("BEGIN")
    rows = db.execute(
        "INSERT INTO scratch (campaign_id, target, target_key, contact_id, variables, state,"
        " attempts, due_at, updated_at)"
        " SELECT 999, phone, phone, id, fields, 'pending', 0, ?, ? FROM contacts"
        " WHERE list_id = 1 ORDER BY id",
        (NOW.isoformat(), NOW.isoformat()),
    ).rowcount
    db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return {"messages": rows, "insert_s": elapsed, "base_mb": base, "peak_mb": peak_rss_mb()}


def child(*args: str) -> dict[str, Any]:
    """Run a phase in a fresh interpreter and read its JSON figures."""
    done = subprocess.run(
        [sys.executable, __file__, "--phase", *args],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def best(fn: Callable[[], object], loops: int, repeat: int = 5) -> float:
    """Best time of ``repeat`` runs of ``loops`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append(time.perf_counter() - start)
    return min(times)


def rendering(loops: int = 300_000) -> None:
    """core.templates against str.format_map, and the campaign renderer."""
    values = {
        "name": "Nguyễn Văn An",
        "param0": "TK0012345",
        "param1": "1.250.000",
        "param2": "30/11",
        "phone": "+84912345678",
        "email": "an@example.vn",
    }
    compiled = parse_template(BODY)
    assert compiled.render(values) == BODY.format_map(values)
    ours = best(lambda: compiled.render(values), loops)
    plain = best(lambda: BODY.format_map(values), loops)
    campaign = Campaign(
        id=1,
        name="c",
        channel="sms",
        kind="ads",
        template="t",
        source=CampaignSource(variable_map={"param0": "param0"}),
        brandname="B",
    )
    renderer = renderer_for(campaign, Template("t", "sms", BODY))
    service_path = best(lambda: renderer.render(values), loops)
    record("render: core.templates", loops / ours, "msg/s", loops / plain, "msg/s str.format_map")
    record(
        "render: campaign renderer (ads)",
        loops / service_path,
        "msg/s",
        loops / plain,
        "msg/s str.format_map",
    )
    print(f"rendering ({loops:,} messages, best of 5):")
    print(f"  str.format_map           {loops / plain:>12,.0f} /s")
    print(
        f"  core.templates render    {loops / ours:>12,.0f} /s   "
        f"ratio {plain / ours:.2f} of format_map (target >= 0.80)"
    )
    print(
        f"  campaign renderer        {loops / service_path:>12,.0f} /s   "
        "(variable map + [QC] label + opt-out)"
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--phase"]:
        kind, target = argv[1], argv[2]
        result = phase_send(target, argv[3]) if kind == "send" else phase_baseline(target)
        print(json.dumps(result))
        return
    n = int(argv[0]) if argv else 1_000_000
    with tempfile.TemporaryDirectory(prefix="massreach-bench-") as tmp:
        path = str(Path(tmp) / "bench.db")
        url = f"sqlite:///{path}"
        setup(url, n)
        for name in ("tenth", "full"):
            r = child("send", url, name)
            print(
                f"send {name:<5}: {r['messages']:>9,} messages; send {r['send_s']:.2f} s "
                f"({r['messages'] / r['send_s']:,.0f} /s); expansion {r['expand_s']:.2f} s "
                f"({r['messages'] / r['expand_s']:,.0f} messages/s); peak RSS "
                f"{r['peak_mb']:.0f} MiB (at start {r['base_mb']:.0f} MiB)"
            )
            if name == "full":
                full = r
            record(f"send {r['messages']:,}: peak RSS", r["peak_mb"], "MB")
        raw = child("baseline", path)
        print(
            f"baseline   : {raw['messages']:>9,} rows INSERT … SELECT in {raw['insert_s']:.2f} s "
            f"({raw['messages'] / raw['insert_s']:,.0f} rows/s); peak RSS "
            f"{raw['peak_mb']:.0f} MiB"
        )
        expand_rate = full["messages"] / full["expand_s"]
        raw_rate = raw["messages"] / raw["insert_s"]
        print(f"expansion / raw INSERT … SELECT: {expand_rate / raw_rate:.2f}")
        record(f"send {n:,}: expansion", expand_rate, "msg/s", raw_rate, "rows/s raw INSERT…SELECT")
        record(
            f"send {n:,}: whole send (render check + expansion)",
            full["messages"] / full["send_s"],
            "msg/s",
            raw_rate,
            "rows/s raw INSERT…SELECT",
        )
    rendering()


if __name__ == "__main__":
    main(sys.argv[1:])
