"""``dispatch``, ``opt-out``, ``report`` and ``messages``: sending and what came of it.

massreach --db URL dispatch [--config PATH] [--until-idle] [--workers N] [--json]
massreach --db URL opt-out add PHONE-OR-EMAIL [--region VN]
massreach --db URL report FILE            # delivery reports, JSON lines
massreach --db URL messages CAMPAIGN [--state S] [--json]
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from massreach.cli.arguments import check_unmask
from massreach.cli.output import emit, key_values, table
from massreach.engine import Reach
from massreach.model import MessageState
from massreach.services.dispatch_outcomes import DispatchReport

_STATES = [s.value for s in MessageState]


def add_commands(subparsers: Any) -> None:
    """Register the dispatch, opt-out, report and messages commands."""
    p = subparsers.add_parser(
        "dispatch", help="send due messages (a worker; --until-idle to stop when done)"
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="channel and policy configuration (TOML; default: $MASSREACH_CONFIG)",
    )
    p.add_argument(
        "--until-idle",
        action="store_true",
        help="return when no message is due (held messages and waiting retries are not due)",
    )
    p.add_argument("--workers", type=_positive, default=1, help="worker processes (default 1)")
    p.add_argument("--batch-size", type=_positive, help="messages per claim ([dispatch])")
    p.add_argument("--lease", type=float, metavar="SECONDS", help="claim lease ([dispatch])")
    p.add_argument("--json", action="store_true", help="print counts by final state as JSON")
    p.set_defaults(func=cmd_dispatch)

    p = subparsers.add_parser("opt-out", help="the list of phones and emails never sent to")
    sub = p.add_subparsers(dest="opt_out_command", metavar="ACTION", required=True)
    for action, text in (("add", "add a phone or email"), ("remove", "take one off")):
        q = sub.add_parser(action, help=text)
        q.add_argument("target", metavar="PHONE-OR-EMAIL")
        q.add_argument(
            "--region", default="VN", help="country of phone numbers without a +code (VN)"
        )
        q.add_argument("--json", action="store_true")
        q.set_defaults(func=cmd_opt_out, action=action)

    p = subparsers.add_parser("report", help="apply delivery reports (a JSON-lines file)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser("messages", help="a campaign's messages with state and reason")
    p.add_argument("campaign")
    p.add_argument("--state", action="append", choices=_STATES, help="only these (repeatable)")
    p.add_argument("--limit", type=_positive, help="at most this many")
    p.add_argument("--unmask", action="store_true", help="full phone numbers (--role admin)")
    p.add_argument("--role", choices=["agent", "supervisor", "manager", "admin"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_messages)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT (a worker finishes its batch, then stops)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda _signum, _frame: stop.set())
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _report_data(report: DispatchReport) -> dict[str, Any]:
    return {
        "states": dict(report.states),
        "claimed": report.claimed,
        "batches": report.batches,
        "lost": report.lost,
        "given_back": report.given_back,
        "completed": list(report.completed),
        "next_due": report.next_due.isoformat() if report.next_due else None,
        "workers": report.workers,
    }


def cmd_dispatch(reach: Reach, args: argparse.Namespace) -> int:
    """Run the dispatcher."""
    with _stop_on_signals() as stop:
        report = reach.dispatch.run(
            until_idle=args.until_idle,
            workers=args.workers,
            batch_size=args.batch_size,
            lease=args.lease,
            stop_event=stop,
        )
    data = _report_data(report)

    def human(out: TextIO) -> None:
        counts = ", ".join(f"{n} {state}" for state, n in data["states"].items())
        pairs: list[tuple[str, Any]] = [("messages", counts or "none were due")]
        if data["completed"]:
            pairs.append(("completed", ", ".join(data["completed"])))
        if data["next_due"]:
            pairs.append(("next due", data["next_due"]))
        if report.lost:
            pairs.append(("lost leases", report.lost))
        key_values(out, pairs)

    emit(args, data, human)
    return 0


def cmd_opt_out(reach: Reach, args: argparse.Namespace) -> int:
    """Add to or remove from the opt-out list."""
    target = reach.dispatch.normalize_target(args.target, region=args.region)
    if args.action == "add":
        changed = reach.dispatch.opt_out(target, region=args.region)
        text = "added to" if changed else "already on"
    else:
        changed = reach.dispatch.remove_opt_out(target, region=args.region)
        text = "removed from" if changed else "was not on"
    data = {"target": target, "action": args.action, "changed": changed}
    emit(args, data, lambda out: out.write(f"{target}: {text} the opt-out list\n"))
    return 0


def cmd_report(reach: Reach, args: argparse.Namespace) -> int:
    """Apply a file of delivery reports; exit 1 when some lines were not reports."""
    summary = reach.dispatch.ingest_reports(args.file)
    data = {
        "read": summary.read,
        "matched": summary.matched,
        "unmatched": summary.unmatched,
        "unknown_ids": list(summary.unknown_ids),
        "errors": [{"line": e.line, "code": e.code, "message": e.message} for e in summary.errors],
    }

    def human(out: TextIO) -> None:
        key_values(
            out,
            [
                ("reports read", summary.read),
                ("applied", summary.matched),
                ("unknown ids (kept)", summary.unmatched),
                ("bad lines", len(summary.errors)),
            ],
        )
        for unknown in summary.unknown_ids[:20]:
            out.write(f"  unknown: {unknown}\n")
        for error in summary.errors[:20]:
            out.write(f"  line {error.line}: {error.message} [{error.code}]\n")

    emit(args, data, human)
    return 1 if summary.errors else 0


def cmd_messages(reach: Reach, args: argparse.Namespace) -> int:
    """List a campaign's messages."""
    check_unmask(args)
    views = reach.dispatch.messages(
        args.campaign, states=args.state, unmask=args.unmask, limit=args.limit
    )
    data = [
        {
            "id": v.id,
            "client_id": v.client_id,
            "target": v.target,
            "state": v.state,
            "reason": v.reason,
            "attempts": v.attempts,
            "due_at": v.due_at.isoformat() if v.due_at else None,
            "sent_at": v.sent_at.isoformat() if v.sent_at else None,
            "provider_id": v.provider_id,
        }
        for v in views
    ]

    def human(out: TextIO) -> None:
        rows = [
            (d["id"], d["target"], d["state"], d["attempts"], d["due_at"] or "", d["reason"] or "")
            for d in data
        ]
        table(out, ["id", "target", "state", "attempts", "due", "reason"], rows)

    emit(args, data, human)
    return 0
