"""``template add`` and ``templates`` (registered by :mod:`.campaign_commands`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from massreach.cli.output import emit, table
from massreach.engine import Reach
from massreach.model import Template


def add_template_commands(subparsers: Any) -> None:
    """Register ``template add`` and ``templates``."""
    tpl = subparsers.add_parser("template", help="message templates: add")
    tpl_sub = tpl.add_subparsers(dest="template_command", metavar="ACTION", required=True)
    p = tpl_sub.add_parser("add", help="add an SMS or email template")
    p.add_argument("name")
    p.add_argument("--channel", choices=["sms", "email"], required=True)
    p.add_argument("--body", required=True, help="text with {variables}; {{ and }} for braces")
    p.add_argument("--subject", help="email subject")
    p.add_argument("--html", metavar="FILE", help="email HTML body, read from a file")
    p.add_argument("--registered", action="store_true", help="registered with the SMS gateway")
    p.add_argument("--brandname", help="the brandname it is registered for")
    p.add_argument("--replace", action="store_true", help="replace a template of that name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_template_add)

    p = subparsers.add_parser("templates", help="list templates")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_templates)


def _template_row(t: Template) -> dict[str, Any]:
    return {
        "name": t.name,
        "channel": t.channel,
        "body": t.body,
        "subject": t.subject,
        "html": t.html is not None,
        "registered": t.registered,
        "brandname": t.brandname,
    }


def cmd_template_add(reach: Reach, args: argparse.Namespace) -> int:
    """Add (or with --replace, replace) a template."""
    html = Path(args.html).read_text(encoding="utf-8") if args.html else None
    template = reach.campaigns.add_template(
        args.name,
        args.channel,
        args.body,
        subject=args.subject,
        html=html,
        registered=args.registered,
        brandname=args.brandname,
        replace=args.replace,
    )
    row = _template_row(template)
    emit(args, row, _say(f"added {template.channel} template {template.name}"))
    return 0


def cmd_templates(reach: Reach, args: argparse.Namespace) -> int:
    """List templates."""
    rows = [_template_row(t) for t in reach.campaigns.templates()]

    def human(out: TextIO) -> None:
        table(
            out,
            ["name", "channel", "registered", "subject", "body"],
            [
                [
                    r["name"],
                    r["channel"],
                    r["brandname"] if r["registered"] else "",
                    r["subject"] or "",
                    r["body"],
                ]
                for r in rows
            ],
        )

    emit(args, rows, human)
    return 0


def _say(text: str) -> Callable[[TextIO], None]:
    """A human printer writing one line."""

    def human(out: TextIO) -> None:
        out.write(text + "\n")

    return human
