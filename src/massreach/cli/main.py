"""``massreach``: the entry point, global options and error handling.

Subcommands live in modules named after what they do; each has
``add_commands(subparsers)`` and sets ``func(reach, args) -> int`` on its parsers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from contextlib import suppress
from typing import TextIO, cast

from massreach.cli.output import GuardedOutput, OutputClosed
from massreach.errors import MassreachError

#: Modules that add subcommands, in the order they appear in ``--help``.
COMMAND_MODULES: tuple[str, ...] = (
    "massreach.cli.import_commands",
    "massreach.cli.campaign_commands",
    "massreach.cli.distribution_commands",
    "massreach.cli.dispatch_commands",
    "massreach.cli.demo_command",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by the docs test)."""
    parser = argparse.ArgumentParser(
        prog="massreach",
        description=(
            "Outbound campaigns for contact centers: import customer lists, distribute "
            "them to agents, send SMS and email."
        ),
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="storage URL: memory:, sqlite:///path.db or postgresql://user@host/db "
        "(default: $MASSREACH_DB or sqlite:///massreach.db)",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help="channel and policy configuration (TOML; default: $MASSREACH_CONFIG)",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(subparsers)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"massreach {version('massreach')}"
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "massreach (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 a massreach error, 2 usage or an
    internal error, 130 interrupted, 141 output pipe closed by its reader)."""
    stdout = sys.stdout
    sys.stdout = cast("TextIO", GuardedOutput(stdout))
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        return _run(args)
    except OutputClosed:
        # Nothing more to say, and nothing for Python to flush into the closed
        # pipe at exit.
        with suppress(AttributeError, OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, stdout.fileno())
            finally:
                os.close(devnull)
        return 141  # as a shell reports a command ended by SIGPIPE
    finally:
        sys.stdout = stdout


def _run(args: argparse.Namespace) -> int:
    """Run the command ``args`` names; a massreach error, an interrupt or a bug
    becomes a message on standard error and an exit code."""
    try:
        if getattr(args, "no_engine", False):
            return int(args.func(None, args))
        from massreach.engine import Reach

        with Reach(args.db, config=args.config) as reach:
            return int(args.func(reach, args))
    except MassreachError as exc:
        print(f"massreach: error: {exc} [{exc.code}]", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("massreach: interrupted", file=sys.stderr)
        return 130
    except OutputClosed:
        raise
    except Exception as exc:  # no traceback for users; MASSREACH_DEBUG=1 shows it
        if os.environ.get("MASSREACH_DEBUG"):
            traceback.print_exc()
        print(
            f"massreach: internal error: {type(exc).__name__}: {exc} "
            "(set MASSREACH_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
