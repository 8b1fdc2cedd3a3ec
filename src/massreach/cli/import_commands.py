"""``import``, ``inspect``, ``plans``, ``plan …`` and ``contacts``."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from massreach.cli.arguments import check_unmask, iso_time, key_value
from massreach.cli.output import emit, key_values, table
from massreach.core.masking import mask_phone
from massreach.engine import Reach
from massreach.markers import hookimpl
from massreach.model import DuplicatePolicy, ImportOptions, ImportPlan
from massreach.model.contacts import Contact, ContactQuery
from massreach.services.plan_exports import EXPORTS


def add_commands(subparsers: Any) -> None:
    """Register the import commands."""
    p = subparsers.add_parser("import", help="import a CSV/XLS/XLSX file into a list")
    p.add_argument("file")
    _import_options(p)
    p.add_argument("--at", type=iso_time, help="run at this time (default: now)")
    p.add_argument("--user", help="who creates the plan")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_import)

    p = subparsers.add_parser("inspect", help="show detection and the proposed column mapping")
    p.add_argument("file")
    _import_options(p, list_required=False)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)

    p = subparsers.add_parser("plans", help="list import plans, or run the due ones")
    p.add_argument(
        "action", nargs="?", choices=["run-due"], help="run-due: run plans whose time has come"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plans)

    plan = subparsers.add_parser("plan", help="one import plan: show, export, delete")
    plan_sub = plan.add_subparsers(dest="plan_command", metavar="ACTION", required=True)
    p = plan_sub.add_parser("show", help="a plan's state and counts")
    p.add_argument("plan_id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan_show)
    p = plan_sub.add_parser(
        "export", help="download succeeded, failed, duplicate rows or the original"
    )
    p.add_argument("plan_id", type=int)
    p.add_argument("which", choices=EXPORTS)
    p.add_argument("-o", "--output", required=True, help="where to write the file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan_export)
    p = plan_sub.add_parser("delete", help="delete a plan and its stored file")
    p.add_argument("plan_id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan_delete)

    p = subparsers.add_parser("contacts", help="the contacts of a list")
    p.add_argument("list")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--unmask", action="store_true", help="show full phone numbers (admin only)")
    p.add_argument("--role", help="your role, for --unmask (admin)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_contacts)


def _import_options(p: argparse.ArgumentParser, *, list_required: bool = True) -> None:
    p.add_argument(
        "--list", required=list_required, help="the list (campaign, task) to import into"
    )
    p.add_argument("--kind", choices=["bulk_send", "calling", "crm_status"], default="bulk_send")
    p.add_argument("--tag", action="append", default=[], help="a tag for every record (repeatable)")
    p.add_argument("--region", default="VN", help="region for numbers without a country code")
    p.add_argument("--encoding", default="auto")
    p.add_argument("--delimiter", default="auto")
    p.add_argument("--sheet", default=None, help="Excel sheet name")
    p.add_argument("--skip-rows", type=int, default=0, help="rows before the header")
    p.add_argument("--no-header", action="store_true", help="the file has no header row")
    p.add_argument(
        "--columns", default="", help="with --no-header: fields by position, comma-separated"
    )
    p.add_argument("--map", type=key_value, action="append", default=[], metavar="HEADER=FIELD")
    p.add_argument("--on-duplicate", choices=["skip", "update"], default="skip")
    p.add_argument("--clear-owner", action="store_true")
    p.add_argument("--reset-status", action="store_true")
    p.add_argument("--move", action="store_true", help="move records found in another list here")
    p.add_argument("--timezone", default="UTC", help="zone of dates in the file")


def options_from_args(args: argparse.Namespace) -> ImportOptions:
    """The import options the command line asked for."""
    return ImportOptions(
        kind=args.kind,
        encoding=args.encoding,
        delimiter=args.delimiter,
        sheet=args.sheet,
        skip_rows=args.skip_rows,
        has_header=not args.no_header,
        region=args.region.upper(),
        tags=tuple(args.tag),
        mapping=tuple(args.map),
        columns=tuple(c.strip() for c in args.columns.split(",") if c.strip()),
        duplicates=DuplicatePolicy(
            on_duplicate=args.on_duplicate,
            clear_owner=args.clear_owner,
            reset_status=args.reset_status,
            other_list="move" if args.move else "skip",
        ),
        timezone=args.timezone,
    )


class _ProgressBar:
    """A plugin that draws the progress of import batches on a terminal: the file
    row reached (of how many, where the reader knows), and the counts so far."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    @hookimpl
    def massreach_import_progress(
        self, plan: ImportPlan, rows_done: int, rows_total: int | None
    ) -> None:
        c = plan.counts
        if rows_total:
            done = min(rows_done / rows_total, 1.0)
            bar = "#" * int(done * 30)
            text = f"\r[{bar:<30}] {done:4.0%} row {rows_done}/{rows_total}"
        else:
            text = f"\rrow {rows_done}"
        text += f"  ok {c.succeeded} failed {c.failed} dup {c.duplicates}"
        self.stream.write(text)
        self.stream.flush()


def plan_summary(plan: ImportPlan, list_name: str | None = None) -> dict[str, Any]:
    """The JSON object the CLI prints for a plan (``list_name``: its target list's)."""
    c = plan.counts
    return {
        "plan_id": plan.id,
        "list_id": plan.list_id,
        "list": list_name,
        "file_name": plan.file_name,
        "state": plan.state.value,
        "total": c.total,
        "succeeded": c.succeeded,
        "failed": c.failed,
        "duplicates": c.duplicates,
        "updated": c.updated,
        "success_rate": round(c.success_rate, 4),
        "format": plan.file_format,
        "encoding": plan.encoding,
        "delimiter": plan.delimiter,
        "run_at": plan.run_at.isoformat() if plan.run_at else None,
        "started_at": plan.started_at.isoformat() if plan.started_at else None,
        "finished_at": plan.finished_at.isoformat() if plan.finished_at else None,
        "creator": plan.creator,
        "mapping": [list(pair) for pair in plan.mapping],
        "error": None
        if plan.error_code is None
        else {"code": plan.error_code, "message": plan.error_message},
    }


def _detected(summary: dict[str, Any]) -> str:
    if summary["format"] is None:
        return "-"
    text = str(summary["format"])
    if summary["encoding"]:
        text += f", encoding {summary['encoding']}"
    if summary["delimiter"]:
        text += f", delimiter {summary['delimiter']!r}"
    return text


def _summary(reach: Reach, plan: ImportPlan, names: dict[int, str] | None = None) -> dict[str, Any]:
    """:func:`plan_summary` with the name of the plan's list."""
    if names is None:
        found = reach.storage.get_list_by_id(plan.list_id)
        names = {plan.list_id: found.name} if found is not None else {}
    return plan_summary(plan, names.get(plan.list_id))


def _print_plan(out: TextIO, s: dict[str, Any], plan: ImportPlan) -> None:
    key_values(
        out,
        [
            ("plan", s["plan_id"]),
            ("list", s["list"]),
            ("file", s["file_name"]),
            ("state", s["state"]),
            ("detected", _detected(s)),
            ("total", s["total"]),
            ("succeeded", f"{s['succeeded']} ({s['updated']} updated)"),
            ("failed", s["failed"]),
            ("duplicates", s["duplicates"]),
            ("success rate", f"{plan.counts.success_rate:.1%}"),
            ("run at", s["run_at"]),
            ("creator", s["creator"]),
        ],
    )
    if plan.error_code:
        out.write(f"error: {plan.error_message} [{plan.error_code}]\n")


def cmd_import(reach: Reach, args: argparse.Namespace) -> int:
    """Create a plan for the file and run it now (or schedule it with --at)."""
    options = options_from_args(args)
    now = reach.context.now()
    if args.at is not None and args.at > now:
        plan = reach.imports.create_plan(
            args.file, list_name=args.list, options=options, run_at=args.at, creator=args.user
        )
    else:
        if sys.stderr.isatty() and not args.json:
            reach.plugin_manager.register(_ProgressBar(sys.stderr), name="massreach-cli-progress")
        plan = reach.imports.import_file(
            args.file, list_name=args.list, options=options, creator=args.user
        )
        if sys.stderr.isatty() and not args.json:
            sys.stderr.write("\n")
    summary = _summary(reach, plan)
    emit(args, summary, lambda out: _print_plan(out, summary, plan))
    return 1 if plan.state.value == "failed" else 0


def cmd_inspect(reach: Reach, args: argparse.Namespace) -> int:
    """Show what the file looks like to massreach before importing it."""
    preview = reach.imports.inspect(args.file, options_from_args(args))

    def human(out: TextIO) -> None:
        key_values(
            out,
            [
                ("file", preview.file_name),
                ("format", preview.format),
                ("encoding", preview.encoding or "-"),
                ("delimiter", repr(preview.delimiter) if preview.delimiter else "-"),
                ("header row", preview.header_row or "none"),
                (
                    "mapping",
                    "remembered from the last import" if preview.remembered else "proposed",
                ),
            ],
        )
        table(out, ["column", "field"], [list(p) for p in preview.mapping])

    emit(args, preview, human)
    return 0


def cmd_plans(reach: Reach, args: argparse.Namespace) -> int:
    """List plans, or run those whose time has come."""
    plans = reach.imports.run_due() if args.action == "run-due" else reach.imports.plans()
    names = {found.id: found.name for found in reach.storage.lists()}
    rows = [_summary(reach, p, names) for p in plans]

    def human(out: TextIO) -> None:
        if args.action == "run-due" and not plans:
            out.write("no plan is due\n")
            return
        table(
            out,
            [
                "id",
                "list",
                "file",
                "state",
                "total",
                "ok",
                "failed",
                "dup",
                "rate",
                "run at",
                "creator",
            ],
            [
                [
                    r["plan_id"],
                    r["list"],
                    r["file_name"],
                    r["state"],
                    r["total"],
                    r["succeeded"],
                    r["failed"],
                    r["duplicates"],
                    f"{r['success_rate']:.0%}",
                    r["run_at"],
                    r["creator"],
                ]
                for r in rows
            ],
        )

    emit(args, rows, human)
    return 1 if any(p.state.value == "failed" for p in plans) and args.action else 0


def cmd_plan_show(reach: Reach, args: argparse.Namespace) -> int:
    """One plan's state, counts and detection."""
    plan = reach.imports.plan(args.plan_id)
    summary = _summary(reach, plan)
    emit(args, summary, lambda out: _print_plan(out, summary, plan))
    return 0


def cmd_plan_export(reach: Reach, args: argparse.Namespace) -> int:
    """Write a plan's rows or original file."""
    count = reach.imports.export(args.plan_id, args.which, args.output)
    result = {"plan_id": args.plan_id, "export": args.which, "path": args.output, "rows": count}
    emit(
        args,
        result,
        lambda out: out.write(
            f"wrote {args.which} of plan {args.plan_id} to {args.output} ({count} rows)\n"
        ),
    )
    return 0


def cmd_plan_delete(reach: Reach, args: argparse.Namespace) -> int:
    """Delete a plan and its file."""
    reach.imports.delete(args.plan_id)
    emit(
        args,
        {"plan_id": args.plan_id, "deleted": True},
        lambda out: out.write(f"deleted plan {args.plan_id}\n"),
    )
    return 0


def cmd_contacts(reach: Reach, args: argparse.Namespace) -> int:
    """The contacts of a list. Tables mask phones unless --unmask; ``--json`` is the
    data interface for programs and carries full E.164 numbers."""
    check_unmask(args)
    found = reach.storage.get_list(args.list)
    if found is None:
        from massreach.errors import NotFound

        raise NotFound(f"there is no list {args.list!r}", code="list.not_found")
    show = (lambda p: p) if (args.unmask or args.json) else mask_phone
    contacts: list[Contact] = []
    after = 0
    while args.limit is None or len(contacts) < args.limit:
        page = reach.storage.find_contacts(
            ContactQuery(list_id=found.id), limit=1000, after_id=after
        )
        if not page:
            break
        contacts.extend(page)
        after = page[-1].id
    if args.limit is not None:
        contacts = contacts[: args.limit]
    rows: list[dict[str, Any]] = [
        {
            "id": c.id,
            "phone": None if c.phone is None else show(c.phone),
            "email": c.email,
            "name": c.name,
            "tags": list(c.tags),
            "fields": dict(c.fields),
            "owner": c.owner,
            "status": c.status.value,
        }
        for c in contacts
    ]

    def human(out: TextIO) -> None:
        table(
            out,
            ["id", "phone", "email", "name", "tags", "owner", "status"],
            [
                [
                    r["id"],
                    r["phone"],
                    r["email"],
                    r["name"],
                    ",".join(r["tags"]),
                    r["owner"],
                    r["status"],
                ]
                for r in rows
            ],
        )

    emit(args, rows, human)
    return 0
