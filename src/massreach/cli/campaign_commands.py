"""``campaign …`` and ``campaigns`` (and, through :mod:`.template_commands` and
:mod:`.campaign_audience_commands`, ``template …``, ``templates`` and the audience
actions of ``campaign``)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from massreach.cli.arguments import iso_time
from massreach.cli.campaign_audience_commands import add_audience_commands
from massreach.cli.output import emit, key_values, table
from massreach.cli.template_commands import add_template_commands
from massreach.core.lifecycle import CampaignState
from massreach.core.segments import SegmentCount
from massreach.engine import Reach
from massreach.model import Campaign
from massreach.services.campaign_preview import Preview

_ROLES = ["agent", "supervisor", "manager", "admin"]


def add_commands(subparsers: Any) -> None:
    """Register the template and campaign commands."""
    add_template_commands(subparsers)
    camp = subparsers.add_parser("campaign", help="one bulk-send campaign")
    sub = camp.add_subparsers(dest="campaign_command", metavar="ACTION", required=True)
    p = sub.add_parser("create", help="create a draft campaign on a list")
    p.add_argument("name")
    p.add_argument("--channel", choices=["sms", "email"], required=True)
    p.add_argument("--kind", required=True, help="care (customer care) or ads (advertising)")
    p.add_argument("--template", required=True)
    p.add_argument("--list", required=True, help="the list of customers (created if new)")
    p.add_argument("--tag", action="append", default=[], help="send to this tag (repeatable)")
    p.add_argument("--brandname", help="SMS brandname")
    p.add_argument("--account", help="email sending account (default: default)")
    p.add_argument("--at", type=iso_time, help="send at this time (ISO; default: on send)")
    p.add_argument("--transliterate", action="store_true", help="send SMS without diacritics")
    p.add_argument("--feed", choices=["csv", "crm"], help="how a new list is fed (default csv)")
    _who(p)
    p.set_defaults(func=cmd_create)

    add_audience_commands(sub, _who)
    p = sub.add_parser("preview", help="the message rendered for a customer, with SMS segments")
    p.add_argument("name")
    p.add_argument("--contact", metavar="PHONE-OR-EMAIL", help="render for this customer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("confirm", help="what Send will do: channel, audience, messages, time")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_confirm)

    for action, text in (
        ("send", "send now, or at the scheduled time (manager or admin)"),
        ("pause", "pause a sending campaign"),
        ("resume", "resume a paused campaign (manager or admin)"),
        ("cancel", "cancel a campaign and its waiting messages (manager or admin)"),
    ):
        p = sub.add_parser(action, help=text)
        p.add_argument("name")
        _who(p)
        p.set_defaults(func=cmd_lifecycle, action=action)

    p = sub.add_parser("show", help="a campaign and its messages by state")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = subparsers.add_parser("campaigns", help="search campaigns by name and state")
    p.add_argument("--name", help="part of the name (case and accents ignored)")
    p.add_argument("--state", choices=[s.value for s in CampaignState])
    p.add_argument(
        "--activate-due",
        action="store_true",
        help="first move scheduled campaigns whose time has come to sending",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_campaigns)


def _who(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", required=True, help="who does it")
    p.add_argument("--role", required=True, choices=_ROLES)
    p.add_argument("--json", action="store_true")


def campaign_summary(c: Campaign) -> dict[str, Any]:
    """The JSON object the CLI prints for a campaign."""
    return {
        "id": c.id,
        "name": c.name,
        "channel": c.channel,
        "kind": c.kind.value,
        "state": c.state.value,
        "template": c.template,
        "list_id": c.source.list_id,
        "tags": list(c.source.tags),
        "brandname": c.brandname,
        "account": c.account,
        "transliterate": c.transliterate,
        "scheduled_at": c.scheduled_at.isoformat() if c.scheduled_at else None,
        "created_by": c.created_by,
        "sent_by": c.sent_by,
        "created_at": c.created_at.isoformat() if c.created_at else None,
        "updated_at": c.updated_at.isoformat() if c.updated_at else None,
    }


def _print_campaign(out: TextIO, s: dict[str, Any]) -> None:
    key_values(
        out,
        [
            ("campaign", s["name"]),
            ("state", s["state"]),
            ("channel", f"{s['channel']} ({s['kind']})"),
            ("template", s["template"]),
            ("tags", ", ".join(s["tags"]) or "all"),
            (
                "brandname" if s["channel"] == "sms" else "account",
                s["brandname"] if s["channel"] == "sms" else s["account"],
            ),
            ("scheduled at", s["scheduled_at"] or "when sent"),
            ("created by", s["created_by"]),
            ("sent by", s["sent_by"]),
        ],
    )


def cmd_create(reach: Reach, args: argparse.Namespace) -> int:
    """Create a draft campaign."""
    campaign = reach.campaigns.create(
        args.name,
        channel=args.channel,
        kind=args.kind,
        template=args.template,
        list_name=args.list,
        tags=args.tag,
        brandname=args.brandname,
        account=args.account,
        scheduled_at=args.at,
        transliterate=args.transliterate,
        feed=args.feed,
        user=args.user,
        role=args.role,
    )
    summary = campaign_summary(campaign)
    emit(args, summary, lambda out: _print_campaign(out, summary))
    return 0


def _counts(c: SegmentCount | None) -> str:
    if c is None:
        return ""
    return f"{c.encoding}, {c.characters} characters, {c.segments} segment(s)"


def _print_preview(out: TextIO, p: Preview) -> None:
    total = f"{p.total_segments}" + (
        " (exact)" if p.total_segments_exact else f" (estimated from {p.sampled} customers)"
    )
    pairs: list[tuple[str, Any]] = [
        ("campaign", f"{p.campaign} ({p.channel}, {p.kind})"),
        ("customer", p.contact),
        ("messages", f"{p.messages} (reachable {p.reachable} of {p.total})"),
    ]
    if p.channel == "sms":
        pairs += [
            ("as sent", f"{p.encoding}, {p.characters} characters, {p.segments} segment(s)"),
            ("with accents", _counts(p.original)),
            ("transliterated", _counts(p.transliterated)),
            ("segments in total", total),
        ]
    else:
        pairs.append(("subject", p.subject))
    if p.quota is not None:
        q = p.quota
        later = ", ".join(f"{day.isoformat()}: {count}" for day, count in q.by_day)
        pairs.append(("quota", f"{q.now} of {q.total} can go from {q.start.isoformat()}"))
        if q.held:
            pairs.append(("held by quota", f"{q.held} ({later})"))
        if q.never:
            pairs.append(("never (zero cap)", q.never))
    key_values(out, pairs)
    out.write("-" * 40 + "\n" + p.text + "\n" + "-" * 40 + "\n")
    for problem in p.problems:
        out.write(f"cannot render {problem.contact}: {problem.message}\n")


def cmd_preview(reach: Reach, args: argparse.Namespace) -> int:
    """The message for the first (or a chosen) customer."""
    preview = reach.campaigns.preview(args.name, contact=args.contact)
    emit(args, preview, lambda out: _print_preview(out, preview))
    return 0


def cmd_confirm(reach: Reach, args: argparse.Namespace) -> int:
    """What Send will do."""
    c = reach.campaigns.confirm(args.name)

    def human(out: TextIO) -> None:
        pairs: list[tuple[str, Any]] = [
            ("campaign", f"{c.campaign} ({c.state})"),
            ("channel", f"{c.channel} ({c.kind})"),
            ("template", c.template),
            (
                "audience",
                f"{c.audience} reachable of {c.total}"
                + (f" with tags {', '.join(c.tags)}" if c.tags else ""),
            ),
            ("messages", c.messages),
            ("scheduled at", c.scheduled_at.isoformat() if c.scheduled_at else "now, on send"),
        ]
        if c.channel == "email":
            pairs.append(("account", c.account))
        else:
            pairs += [
                ("brandname", c.brandname),
                ("transliterate", "yes" if c.transliterate else "no"),
                (
                    "segments in total",
                    f"{c.total_segments}" + ("" if c.total_segments_exact else " (estimated)"),
                ),
            ]
        key_values(out, pairs)

    emit(args, c, human)
    return 0


def cmd_lifecycle(reach: Reach, args: argparse.Namespace) -> int:
    """send, pause, resume or cancel."""
    service = reach.campaigns
    if args.action == "send":
        campaign = service.send(args.name, user=args.user, role=args.role)
    elif args.action == "pause":
        campaign = service.pause(args.name, user=args.user, role=args.role)
    elif args.action == "resume":
        campaign = service.resume(args.name, user=args.user, role=args.role)
    else:
        campaign = service.cancel(args.name, user=args.user, role=args.role)
    report = service.show(campaign.name)
    summary = {
        **campaign_summary(campaign),
        "messages": report.messages,
        "total_messages": report.total_messages,
    }

    def human(out: TextIO) -> None:
        out.write(
            f"campaign {campaign.name}: {campaign.state.value} ({report.total_messages} messages)\n"
        )

    emit(args, summary, human)
    return 0


def cmd_show(reach: Reach, args: argparse.Namespace) -> int:
    """A campaign and its messages by state."""
    report = reach.campaigns.show(args.name)
    summary = {
        **campaign_summary(report.campaign),
        "messages": report.messages,
        "total_messages": report.total_messages,
    }

    def human(out: TextIO) -> None:
        _print_campaign(out, summary)
        table(
            out, ["messages", "count"], [*report.messages.items(), ("total", report.total_messages)]
        )

    emit(args, summary, human)
    return 0


def cmd_campaigns(reach: Reach, args: argparse.Namespace) -> int:
    """Search campaigns."""
    if args.activate_due:
        reach.campaigns.activate_due()
    found = reach.campaigns.search(args.name, args.state)
    rows = [campaign_summary(c) for c in found]

    def human(out: TextIO) -> None:
        table(
            out,
            ["id", "name", "channel", "kind", "state", "template", "created by", "scheduled at"],
            [
                [
                    r["id"],
                    r["name"],
                    r["channel"],
                    r["kind"],
                    r["state"],
                    r["template"],
                    r["created_by"],
                    r["scheduled_at"] or "",
                ]
                for r in rows
            ],
        )

    emit(args, rows, human)
    return 0
