"""Argument types shared by the CLI commands."""

from __future__ import annotations

import argparse
from datetime import datetime


def iso_time(text: str) -> datetime:
    """An ISO-8601 time; without a zone it is read in this machine's local zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO time such as 2026-11-23T09:00 or 2026-11-23T09:00+07:00"
        ) from exc
    return value if value.tzinfo else value.astimezone()


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (the value may contain ``=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key.strip(), value.strip()


def check_unmask(args: argparse.Namespace) -> None:
    """``--unmask`` shows full phone numbers: only an admin (``--role admin``) may."""
    if getattr(args, "unmask", False):
        from massreach.core.roles import Action, check, parse_role

        check(parse_role(getattr(args, "role", None) or "agent"), Action.unmask_phones)
