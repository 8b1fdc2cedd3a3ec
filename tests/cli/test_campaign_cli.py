"""The template and campaign commands: JSON contracts, human output and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from massreach.cli.main import build_parser, main
from massreach.engine import Reach
from massreach.errors import StorageError


@pytest.fixture
def reach() -> Iterator[Reach]:
    with Reach("memory:") as engine:
        yield engine


def run(reach: Reach, argv: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    """Run one command on a shared engine (``main`` opens a new one per call, and a
    ``memory:`` store lives only as long as its engine); returns the JSON printed."""
    args = build_parser().parse_args(argv)
    assert args.func(reach, args) == 0
    out = capsys.readouterr().out
    return json.loads(out) if "--json" in argv else out


def seed_sms(reach: Reach, capsys: pytest.CaptureFixture[str], *extra: str) -> None:
    run(
        reach,
        [
            "template",
            "add",
            "promo",
            "--channel",
            "sms",
            "--body",
            "Chào {name}, mã {param0}",
            "--json",
        ],
        capsys,
    )
    run(
        reach,
        [
            "campaign",
            "create",
            "Tết",
            "--channel",
            "sms",
            "--kind",
            "ads",
            "--template",
            "promo",
            "--list",
            "vip",
            "--brandname",
            "SHOP",
            "--user",
            "lan",
            "--role",
            "supervisor",
            *extra,
        ],
        capsys,
    )
    for n, tag in ((1, "hn"), (2, "sg")):
        run(
            reach,
            [
                "campaign",
                "add-contact",
                "Tết",
                "--phone",
                f"09123456{n:02d}",
                "--contact-name",
                f"Nguyễn {n}",
                "--field",
                f"param0=M{n}",
                "--tag",
                tag,
                "--user",
                "lan",
                "--role",
                "supervisor",
            ],
            capsys,
        )


def test_preview_json_has_the_contract_keys(
    reach: Reach, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_sms(reach, capsys)
    data = run(reach, ["campaign", "preview", "Tết", "--json"], capsys)
    assert {"text", "encoding", "segments", "messages", "reachable", "total"} <= set(data)
    assert data["text"] == "[QC] Chào Nguyễn 1, mã M1 Tu choi QC soan TC gui 9xxx"
    assert (data["encoding"], data["segments"]) == ("UCS-2", 1)
    assert (data["messages"], data["reachable"], data["total"]) == (2, 2, 2)
    assert data["transliterated"]["encoding"] == "GSM-7"
    chosen = run(
        reach, ["campaign", "preview", "Tết", "--contact", "+84912345602", "--json"], capsys
    )
    assert "Nguyễn 2" in chosen["text"] and "+84912345602" not in json.dumps(chosen)
    human = run(reach, ["campaign", "preview", "Tết"], capsys)
    assert "UCS-2" in human and "Nguyễn 1" in human


def test_transliterated_campaign_preview(reach: Reach, capsys: pytest.CaptureFixture[str]) -> None:
    seed_sms(reach, capsys, "--transliterate")
    data = run(reach, ["campaign", "preview", "Tết", "--json"], capsys)
    assert data["text"].startswith("[QC] Chao Nguyen 1")
    assert data["encoding"] == "GSM-7" and data["original"]["encoding"] == "UCS-2"


def test_email_preview_has_a_subject(
    reach: Reach, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = tmp_path / "mail.html"
    page.write_text("<h1>{name}</h1>", encoding="utf-8")
    run(
        reach,
        [
            "template",
            "add",
            "news",
            "--channel",
            "email",
            "--body",
            "Hi {name}",
            "--subject",
            "News for {name}",
            "--html",
            str(page),
        ],
        capsys,
    )
    run(
        reach,
        [
            "campaign",
            "create",
            "mail",
            "--channel",
            "email",
            "--kind",
            "care",
            "--template",
            "news",
            "--list",
            "m",
            "--user",
            "u",
            "--role",
            "manager",
        ],
        capsys,
    )
    run(
        reach,
        [
            "campaign",
            "add-contact",
            "mail",
            "--email",
            "ann@example.com",
            "--contact-name",
            "Ann",
            "--user",
            "u",
            "--role",
            "manager",
        ],
        capsys,
    )
    data = run(reach, ["campaign", "preview", "mail", "--json"], capsys)
    assert (data["subject"], data["text"], data["html"]) == (
        "News for Ann",
        "Hi Ann",
        "<h1>Ann</h1>",
    )
    assert data["encoding"] is None and data["messages"] == 1
    confirm = run(reach, ["campaign", "confirm", "mail", "--json"], capsys)
    assert (confirm["channel"], confirm["account"], confirm["messages"]) == ("email", "default", 1)
    templates = run(reach, ["templates", "--json"], capsys)
    assert [t["name"] for t in templates] == ["news"] and templates[0]["html"] is True


def test_audience_confirm_send_show_and_search(
    reach: Reach, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_sms(reach, capsys, "--tag", "hn", "--at", "2020-01-01T09:00+07:00")
    audience = run(reach, ["campaign", "audience", "Tết", "--json"], capsys)
    assert (audience["total"], audience["reachable"]) == (2, 1)
    assert [(t["tag"], t["reachable"], t["total"]) for t in audience["tags"]] == [
        ("hn", 1, 1),
        ("sg", 1, 1),
    ]
    assert audience["records"][0]["target"] == "+849****5601"
    human = run(reach, ["campaign", "audience", "Tết"], capsys)
    assert "hn (1/1)" in human and "sg (1/1)" in human
    confirm = run(reach, ["campaign", "confirm", "Tết", "--json"], capsys)
    assert (confirm["brandname"], confirm["messages"], confirm["template"]) == ("SHOP", 1, "promo")
    assert confirm["scheduled_at"] == "2020-01-01T02:00:00+00:00"
    sent = run(
        reach, ["campaign", "send", "Tết", "--user", "boss", "--role", "manager", "--json"], capsys
    )
    assert sent["state"] == "sending" and sent["messages"] == {"pending": 1}
    show = run(reach, ["campaign", "show", "Tết", "--json"], capsys)
    assert show["messages"] == {"pending": 1} and show["total_messages"] == 1
    assert "pending" in run(reach, ["campaign", "show", "Tết"], capsys)
    paused = run(
        reach,
        ["campaign", "pause", "Tết", "--user", "lan", "--role", "supervisor", "--json"],
        capsys,
    )
    assert paused["state"] == "paused"
    found = run(reach, ["campaigns", "--name", "TET", "--state", "paused", "--json"], capsys)
    assert [c["name"] for c in found] == ["Tết"]
    assert run(reach, ["campaigns", "--state", "draft", "--json"], capsys) == []
    cancelled = run(
        reach, ["campaign", "cancel", "Tết", "--user", "boss", "--role", "admin", "--json"], capsys
    )
    assert cancelled["messages"] == {"cancelled": 1}


def test_a_supervisor_cannot_send(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["--db", "memory:", "campaign", "send", "Tết", "--user", "lan", "--role", "supervisor"]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "A supervisor may not send campaigns; a manager or admin may." in captured.err
    assert "permission.denied" in captured.err and captured.out == ""


def test_errors_exit_with_one_and_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["--db", "memory:", "template", "add", "t", "--channel", "sms", "--body", "Hi {name"]
    )
    assert code == 1
    assert "template.syntax" in capsys.readouterr().err
    code = main(["--db", "memory:", "campaign", "preview", "nope", "--json"])
    assert code == 1 and "no campaign named 'nope'" in capsys.readouterr().err


def test_end_to_end_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'reach.db'}"
    try:
        Reach(url).close()
    except StorageError:
        pytest.skip("the SQLite backend is not registered yet")

    def cli(*argv: str) -> Any:
        assert main(["--db", url, *argv]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        return json.loads(out) if "--json" in argv else out

    cli("template", "add", "t", "--channel", "sms", "--body", "Hi {name}")
    cli(
        "campaign",
        "create",
        "c",
        "--channel",
        "sms",
        "--kind",
        "ads",
        "--template",
        "t",
        "--list",
        "l",
        "--brandname",
        "B",
        "--user",
        "u",
        "--role",
        "supervisor",
    )
    cli(
        "campaign",
        "add-contact",
        "c",
        "--phone",
        "0912345678",
        "--contact-name",
        "An",
        "--user",
        "u",
        "--role",
        "supervisor",
    )
    assert cli("campaign", "preview", "c", "--json")["text"].startswith("[QC] Hi An")
    assert main(["--db", url, "campaign", "send", "c", "--user", "u", "--role", "supervisor"]) == 1
    capsys.readouterr()
    cli("campaign", "send", "c", "--user", "boss", "--role", "manager")
    assert cli("campaign", "show", "c", "--json")["messages"] == {"pending": 1}
