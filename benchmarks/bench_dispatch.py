"""Messages per second of the whole dispatcher (SQLite) against raw client loops.

    .venv/bin/python benchmarks/bench_dispatch.py [--messages 20000] [--only smtp|http]

Unlike ``bench_dispatch_channels.py`` (the channels alone), this measures
``Reach.dispatch.run(until_idle=True)`` end to end: claims with leases from a SQLite
file, the policy chain (opt-out lookup per batch), rendering each message from its
template, the channel, and recording every outcome.

A customer-care campaign of ``--messages`` recipients is prepared once in a SQLite
file (not timed); every dispatcher run works on a fresh copy of that file.

SMTP: an aiosmtpd sink in its own process (tests/adapters/smtp_servers.py). The raw
baseline is a ``smtplib`` loop sending message bytes built beforehand over one reused
connection. The dispatcher runs with ``max_connections`` 1, then 4 (pooled).

HTTP: the test gateway (tests/adapters/http_gateway.py), a fresh process for every run
(it de-duplicates on client ids, and every copy of the database has the same ones).
The raw baseline is an ``http.client`` loop POSTing pre-built JSON over one kept-alive
connection; the dispatcher sends one POST per message, then in batch mode.

Variants run alternately ``--rounds`` times (default 2); each keeps its fastest run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import smtplib
import sys
import tempfile
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from bench_dispatch_channels import API_KEY, FROM, run_variants, server_process, timed

try:
    from benchmarks.table import record
except ImportError:  # run as a plain script from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.table import record

from massreach.config import DispatchConfig, MassreachConfig
from massreach.engine import Reach
from massreach.model import ContactDraft
from massreach.model.contacts import ListFeed

ROOT = Path(__file__).resolve().parents[1]
SUBJECT = "Đơn hàng {param0} của {name} đã được giao"
BODY = "Xin chào {name},\nĐơn hàng {param0} đã được giao thành công. Cảm ơn quý khách!\n"
SMS = "SHOP: Chao {name}, don hang {param0} da duoc giao. Cam on quy khach!"
BATCH = 100

Variant = tuple[str, Callable[[int], tuple[float, int]]]


def email_target(n: int) -> str:
    return f"customer{n}@example.org"


def phone_target(n: int) -> str:
    return f"+8491{n:07d}"


def prepare(folder: Path, channel: str, count: int) -> Path:
    """A SQLite file holding one sending care campaign of ``count`` messages."""
    path = folder / f"{channel}.db"
    started = time.perf_counter()
    with Reach(f"sqlite:///{path}") as reach:
        now = reach.context.now()
        contacts = reach.storage.create_list("bench", feed=ListFeed.csv, created_by="b", now=now)
        drafts = [
            ContactDraft(
                list_id=contacts.id,
                email=email_target(n) if channel == "email" else None,
                phone=phone_target(n) if channel == "sms" else None,
                name=f"Nguyễn Văn {n}",
                fields={"param0": f"DH{n:06d}"},
                tags=("bench",),
            )
            for n in range(count)
        ]
        for start in range(0, count, 5000):
            reach.storage.add_contacts(drafts[start : start + 5000], now=now)
        if channel == "email":
            reach.campaigns.add_template("t", "email", BODY, subject=SUBJECT)
        else:
            reach.campaigns.add_template("t", "sms", SMS, registered=True, brandname="SHOP")
        reach.campaigns.create(
            "bench",
            channel=channel,
            kind="care",
            template="t",
            list_name="bench",
            brandname="SHOP" if channel == "sms" else None,
            account="default" if channel == "email" else None,
            user="b",
            role="manager",
        )
        reach.campaigns.send("bench", user="b", role="manager")
    print(f"  prepared {count} {channel} messages in {time.perf_counter() - started:.1f} s")
    return path


def _timed_run(reach: Reach) -> tuple[float, Any]:
    started = time.perf_counter()
    report = reach.dispatch.run(until_idle=True)
    return time.perf_counter() - started, report


def bench_smtp(count: int, rounds: int, folder: Path) -> None:
    print(f"SMTP: {count} emails per run to an aiosmtpd sink in another process")
    base = prepare(folder, "email", count)
    with server_process("smtp_servers.py") as (port, final):
        prebuilt = []
        for n in range(count):
            message = EmailMessage()
            message["From"] = FROM
            message["To"] = f"Nguyễn Văn {n} <{email_target(n)}>"
            message["Subject"] = f"Đơn hàng DH{n:06d} của Nguyễn Văn {n} đã được giao"
            message["Message-ID"] = f"<raw-{n}@example.com>"
            message.set_content(f"Xin chào Nguyễn Văn {n},\nĐơn hàng DH{n:06d} đã được giao.\n")
            prebuilt.append((email_target(n), message.as_bytes(policy=policy.SMTP)))

        def raw_loop(_round: int) -> tuple[float, int]:
            def send() -> int:
                smtp = smtplib.SMTP("127.0.0.1", port)
                for target, data in prebuilt:
                    smtp.sendmail("shop@example.com", [target], data)
                smtp.quit()
                return len(prebuilt)

            return timed(send)

        def dispatcher(connections: int) -> Callable[[int], tuple[float, int]]:
            table = {"name": "default", "host": "127.0.0.1", "port": port, "from": FROM}
            table["max_connections"] = connections

            def run(_round: int) -> tuple[float, int]:
                return timed_dispatch(base, folder, {"smtp": table}, {})

            return run

        variants: list[Variant] = [("raw smtplib loop, pre-built bytes, 1 conn", raw_loop)]
        variants += [(f"dispatcher (SQLite), SMTP {n} conn", dispatcher(n)) for n in (1, 4)]
        _record(run_variants(variants, rounds), "dispatch email", "msg/s raw smtplib 1 conn")
    print(f"  server counted {final[1] if len(final) > 1 else '?'} of {count * 3 * rounds}")


def timed_dispatch(
    base: Path, folder: Path, tables: dict[str, Any], env: dict[str, str]
) -> tuple[float, int]:
    """Seconds and messages of one dispatcher run (the timing excludes opening)."""
    copy = folder / "run.db"
    shutil.copyfile(base, copy)
    config = MassreachConfig(
        channel_tables={kind: (table,) for kind, table in tables.items()},
        dispatch=DispatchConfig(batch_size=BATCH),
    )
    try:
        with Reach(f"sqlite:///{copy}", config=config, env=env) as reach:
            reach.dispatch.send_once(batch_size=1)  # opens the channels and the database
            seconds, report = _timed_run(reach)
            handed = sum(report.states.get(s, 0) for s in ("sent", "accepted", "delivered"))
    finally:
        copy.unlink()
    return seconds, handed


def bench_http(count: int, rounds: int, folder: Path) -> None:
    print(f"HTTP SMS: {count} messages per run to the test gateway in another process")
    base = prepare(folder, "sms", count)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Authorization": f"Bearer {API_KEY}",
    }
    bodies = [
        json.dumps(
            {"client_id": f"raw-{n}", "brandname": "SHOP", "phone": phone_target(n),
             "text": f"SHOP: Chao Nguyen Van {n}, don hang DH{n:06d} da duoc giao.",
             "type": "care"},
            ensure_ascii=False,
        ).encode()
        for n in range(count)
    ]  # fmt: skip

    def raw_loop(_round: int) -> tuple[float, int]:
        with server_process("http_gateway.py", API_KEY) as (port, _final):

            def send() -> int:
                conn = http.client.HTTPConnection("127.0.0.1", port)
                for body in bodies:
                    conn.request("POST", "/sms", body, headers)
                    conn.getresponse().read()
                conn.close()
                return len(bodies)

            return timed(send)

    def dispatcher(batch: bool) -> Callable[[int], tuple[float, int]]:
        def run(_round: int) -> tuple[float, int]:
            with server_process("http_gateway.py", API_KEY) as (port, _final):
                table = {
                    "name": "default",
                    "url": f"http://127.0.0.1:{port}/sms",
                    "api_key_env": "KEY",
                    "batch": batch,
                }
                return timed_dispatch(base, folder, {"sms_gateway": table}, {"KEY": API_KEY})

        return run

    variants: list[Variant] = [
        ("raw http.client loop, pre-built JSON", raw_loop),
        ("dispatcher (SQLite), one POST per message", dispatcher(False)),
        ("dispatcher (SQLite), batch mode (100/POST)", dispatcher(True)),
    ]
    _record(run_variants(variants, rounds), "dispatch SMS", "msg/s raw http.client")


def _record(rows: list[tuple[str, float, int]], prefix: str, baseline_label: str) -> None:
    """Put the dispatcher variants into the shared benchmark table."""
    raw = rows[0][2] / rows[0][1]
    for name, seconds, count in rows[1:]:
        record(f"{prefix}: {name}", count / seconds, "msg/s", raw, baseline_label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--only", choices=("smtp", "http"))
    parser.add_argument("--rounds", type=int, default=2, help="runs per variant; best is kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="massreach-bench-") as folder:
        if args.only in (None, "smtp"):
            bench_smtp(args.messages, args.rounds, Path(folder))
        if args.only in (None, "http"):
            bench_http(args.messages, args.rounds, Path(folder))


if __name__ == "__main__":
    main()
