"""A campaign's audience on the command line: ``campaign audience``, ``add-contact``,
``add-from-contacts`` and ``remove-contact`` (registered by :mod:`.campaign_commands`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from massreach.cli.arguments import key_value
from massreach.cli.output import emit, key_values, table
from massreach.engine import Reach
from massreach.model import ContactQuery


def add_audience_commands(sub: Any, who: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register the audience actions under ``campaign``; ``who`` adds --user/--role/--json."""
    p = sub.add_parser("audience", help="audience figures per tag and the first records")
    p.add_argument("name")
    p.add_argument("--tag", help="show the first records of this tag")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audience)

    p = sub.add_parser("add-contact", help="add one customer to a draft campaign")
    p.add_argument("name")
    p.add_argument("--phone")
    p.add_argument("--email")
    p.add_argument("--contact-name", help="the customer's name")
    p.add_argument("--crm-id")
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--field", type=key_value, action="append", default=[], metavar="KEY=VALUE")
    who(p)
    p.set_defaults(func=cmd_add_contact)

    p = sub.add_parser("add-from-contacts", help="copy customers from the contacts table")
    p.add_argument("name")
    p.add_argument("--from-list", help="only from this list")
    p.add_argument("--tag", action="append", default=[], help="only with one of these tags")
    who(p)
    p.set_defaults(func=cmd_add_from_contacts)

    p = sub.add_parser("remove-contact", help="remove a customer from a draft campaign")
    p.add_argument("name")
    p.add_argument("contact", metavar="PHONE-OR-EMAIL")
    who(p)
    p.set_defaults(func=cmd_remove_contact)


def cmd_audience(reach: Reach, args: argparse.Namespace) -> int:
    """Audience figures and the first records."""
    report = reach.campaigns.audience(args.name, tag=args.tag)

    def human(out: TextIO) -> None:
        key_values(out, [("customers", report.total), ("reachable", report.reachable)])
        for line in report.tag_lines:
            out.write(f"  {line}\n")
        names = sorted(
            {k for r in report.records for k in r.variables}
            | {k for r in report.records for k in r.missing}
        )
        table(
            out,
            ["record", "target", "name", "tags", *names],
            [
                [
                    r.record,
                    r.target,
                    r.name,
                    ",".join(r.tags),
                    *(r.variables.get(k, "(missing)") for k in names),
                ]
                for r in report.records
            ],
        )

    emit(args, report, human)
    return 0


def cmd_add_contact(reach: Reach, args: argparse.Namespace) -> int:
    """Add one customer."""
    contact = reach.campaigns.add_contact(
        args.name,
        role=args.role,
        phone=args.phone,
        email=args.email,
        name=args.contact_name,
        crm_id=args.crm_id,
        tags=args.tag,
        fields=dict(args.field),
    )
    emit(
        args,
        {"contact_id": contact.id, "record": contact.position},
        _say(f"added record {contact.position} to {args.name}"),
    )
    return 0


def cmd_add_from_contacts(reach: Reach, args: argparse.Namespace) -> int:
    """Copy customers from the contacts table."""
    list_id = None
    if args.from_list:
        found = reach.storage.get_list(args.from_list)
        if found is None:
            from massreach.errors import NotFound

            raise NotFound(f"there is no list {args.from_list!r}", code="list.not_found")
        list_id = found.id
    added = reach.campaigns.add_from_contacts(
        args.name, ContactQuery(list_id=list_id, tags=tuple(args.tag)), role=args.role
    )
    emit(
        args,
        added,
        _say(
            f"added {added.added}; skipped {added.duplicates} already there, "
            f"{added.without_target} without a target, {added.without_crm_id} without a CRM id"
        ),
    )
    return 0


def cmd_remove_contact(reach: Reach, args: argparse.Namespace) -> int:
    """Remove one customer."""
    contact = reach.campaigns.remove_contact(args.name, args.contact, role=args.role)
    emit(
        args,
        {"contact_id": contact.id, "removed": True},
        _say(f"removed record {contact.position} from {args.name}"),
    )
    return 0


def _say(text: str) -> Callable[[TextIO], None]:
    """A human printer writing one line."""

    def human(out: TextIO) -> None:
        out.write(text + "\n")

    return human
