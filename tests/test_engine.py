"""Opening an engine: storage URLs, the default database, and clear errors for bad ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from massreach import MassreachError, Reach, StorageError
from massreach.cli.main import main
from massreach.model.contacts import ListFeed


def test_memory_sqlite_and_default_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Reach("memory:", env={}) as reach:
        assert reach.storage.url.startswith("memory")
    with Reach(f"sqlite:///{tmp_path / 'a.db'}", env={}) as reach:
        assert (tmp_path / "a.db").exists()
    monkeypatch.chdir(tmp_path)
    with Reach(env={}) as reach:
        assert reach.url == "sqlite:///massreach.db"
    assert (tmp_path / "massreach.db").exists()
    with Reach(env={"MASSREACH_DB": f"sqlite:///{tmp_path / 'env.db'}"}) as reach:
        assert reach.url.endswith("env.db")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/db", "storage.unknown_scheme"),
        ("no-scheme-here", "storage.bad_url"),
        ("postgresql://postgres@127.0.0.1:1/test", "storage.unreachable"),
    ],
)
def test_bad_urls_are_clear_errors(url: str, code: str) -> None:
    with pytest.raises(StorageError) as info:
        Reach(url, env={})
    assert info.value.code == code
    assert str(info.value)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(b"these are my notes, not a database\n" * 100)
    with pytest.raises(StorageError) as info:
        Reach(f"sqlite:///{bogus}", env={})
    assert info.value.code == "storage.not_a_database"
    assert "notes.db" in str(info.value)
    assert bogus.read_bytes().startswith(b"these are my notes")


def test_cli_reports_storage_errors_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", "ftp://x/y", "plans"]) == 1
    err = capsys.readouterr().err
    assert "storage.unknown_scheme" in err and "Traceback" not in err


def test_cli_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "massreach" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0


def test_errors_carry_codes_and_locations() -> None:
    err = MassreachError("bad phone", code="phone.invalid", file="a.csv", row=3, column="SĐT")
    assert str(err) == "a.csv, row 3, column 'SĐT': bad phone"
    assert err.to_dict()["code"] == "phone.invalid"


def test_two_engines_do_not_share_state() -> None:
    with Reach("memory:", env={}) as one, Reach("memory:", env={}) as two:
        one.storage.create_list("x", feed=ListFeed.csv, created_by=None, now=datetime.now(UTC))
        assert two.storage.get_list("x") is None


def test_repr_hides_a_password() -> None:
    from massreach.engine import _without_password

    assert _without_password("postgresql://app:s3cret@db/calls") == "postgresql://app:***@db/calls"
    with Reach("memory:", env={}) as reach:
        assert repr(reach) == "Reach('memory:')"
