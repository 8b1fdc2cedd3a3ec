"""``massreach demo``: the whole job on the embedded default, one CLI command at a time.

Every step prints the exact command it runs (copy it to run it by hand), then that
command's output. It needs no server: SQLite in a folder, and the file outbox.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

SAMPLES = ("khach-hang-thang-11.csv", "danh-sach-email.csv")
CALL_LIST = "Khách hàng tháng 11"
EMAIL_LIST = "Bản tin"


def add_commands(subparsers: Any) -> None:
    """Register ``demo``."""
    p = subparsers.add_parser(
        "demo",
        help="run the whole job on samples: import, campaigns, distribution, sending",
    )
    p.add_argument(
        "--dir", help="folder for the database, config and outbox (default: a new temporary folder)"
    )
    p.set_defaults(func=cmd_demo, no_engine=True)


def _steps(folder: Path) -> list[tuple[str, list[str]]]:
    calls, emails = (str(folder / name) for name in SAMPLES)
    return [
        (
            "Import the Vietnamese customer list (duplicates and bad rows included)",
            [
                "import",
                calls,
                "--list",
                CALL_LIST,
                "--region",
                "VN",
                "--tag",
                "tháng 11",
                "--map",
                "Số dư=param0",
                "--map",
                "Mã đơn hàng=param1",
                "--user",
                "lan",
            ],
        ),
        (
            "Download the rows that failed, with their reasons",
            ["plan", "export", "1", "failed", "-o", str(folder / "loi.csv")],
        ),
        ("Import the email list", ["import", emails, "--list", EMAIL_LIST, "--user", "lan"]),
        ("The import plans", ["plans"]),
        (
            "A customer-care SMS template registered with the gateway",
            [
                "template",
                "add",
                "nhac-thanh-toan",
                "--channel",
                "sms",
                "--registered",
                "--brandname",
                "SHOPVN",
                "--body",
                "SHOPVN: Kinh gui {name}, don hang {param1} con no {param0} d. "
                "Vui long thanh toan truoc 30/11.",
            ],
        ),
        (
            "An email template",
            [
                "template",
                "add",
                "ban-tin",
                "--channel",
                "email",
                "--subject",
                "Ưu đãi tháng 11 cho {name}",
                "--body",
                "Chào {name},\n\nƯu đãi tháng 11 đã có. Cảm ơn bạn đã đồng hành!",
            ],
        ),
        (
            "A customer-care SMS campaign",
            [
                "campaign",
                "create",
                "Nhắc thanh toán",
                "--channel",
                "sms",
                "--kind",
                "care",
                "--template",
                "nhac-thanh-toan",
                "--list",
                CALL_LIST,
                "--brandname",
                "SHOPVN",
                "--user",
                "lan",
                "--role",
                "supervisor",
            ],
        ),
        ("Audience figures by tag", ["campaign", "audience", "Nhắc thanh toán"]),
        ("Preview with the first customer", ["campaign", "preview", "Nhắc thanh toán"]),
        (
            "An email campaign",
            [
                "campaign",
                "create",
                "Bản tin tháng 11",
                "--channel",
                "email",
                "--kind",
                "care",
                "--template",
                "ban-tin",
                "--list",
                EMAIL_LIST,
                "--account",
                "default",
                "--user",
                "lan",
                "--role",
                "supervisor",
            ],
        ),
        ("Preview the email", ["campaign", "preview", "Bản tin tháng 11"]),
        (
            "A supervisor may not send",
            ["campaign", "send", "Nhắc thanh toán", "--user", "lan", "--role", "supervisor"],
        ),
        (
            "A manager sends the SMS campaign",
            ["campaign", "send", "Nhắc thanh toán", "--user", "hung", "--role", "manager"],
        ),
        (
            "… and the email campaign",
            ["campaign", "send", "Bản tin tháng 11", "--user", "hung", "--role", "manager"],
        ),
        ("Three agents", ["agents", "add", "6001", "--name", "Lan"]),
        ("", ["agents", "add", "6002", "--name", "Minh"]),
        ("", ["agents", "add", "6003", "--name", "Tuấn"]),
        (
            "Distribute the calling list evenly",
            ["distribute", CALL_LIST, "--even", "--agents", "6001,6002,6003"],
        ),
        ("Task figures", ["task-stats", CALL_LIST]),
        ("Send every due message through the file outbox", ["dispatch", "--until-idle"]),
        ("The SMS campaign afterwards", ["campaign", "show", "Nhắc thanh toán"]),
        ("The email campaign afterwards", ["campaign", "show", "Bản tin tháng 11"]),
    ]


def _prepare(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in SAMPLES:
        with resources.as_file(resources.files("massreach.samples") / name) as source:
            shutil.copyfile(source, folder / name)
    config = folder / "massreach.toml"
    config.write_text('[outbox]\nfolder = "outbox"\n', encoding="utf-8")
    database = folder / "demo.db"
    for leftover in folder.glob("demo.db*"):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    shutil.rmtree(folder / "outbox", ignore_errors=True)
    return database


def cmd_demo(_reach: object, args: argparse.Namespace) -> int:
    """Run the demo; exit 1 if a step that should work did not."""
    from massreach.cli.main import main

    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="massreach-demo-"))
    folder = folder.resolve()
    database = _prepare(folder)
    base = ["--db", f"sqlite:///{database}", "--config", str(folder / "massreach.toml")]
    started = time.perf_counter()
    out = sys.stdout
    out.write(f"massreach demo in {folder}\n")
    failures: list[str] = []
    for title, command in _steps(folder):
        argv = base + command
        if title:
            out.write(f"\n== {title}\n")
        out.write(f"$ {_shell(argv)}\n")
        out.flush()
        code = main(argv)
        expected = 1 if command[:2] == ["campaign", "send"] and "supervisor" in command else 0
        if code != expected:
            failures.append(f"{_shell(command)} (exit {code})")
    outbox = sorted((folder / "outbox").glob("*.jsonl"))
    out.write("\n== Where the messages are\n")
    for path in outbox:
        lines = sum(1 for _ in path.open(encoding="utf-8"))
        out.write(f"{path}: {lines} messages\n")
    out.write(f"\ndatabase: {database}\nfailed rows: {folder / 'loi.csv'}\n")
    out.write(f"done in {time.perf_counter() - started:.1f} s\n")
    if failures:
        out.write("steps that did not work: " + "; ".join(failures) + "\n")
        return 1
    return 0


def _shell(argv: Sequence[str]) -> str:
    return "massreach " + shlex.join(argv)
