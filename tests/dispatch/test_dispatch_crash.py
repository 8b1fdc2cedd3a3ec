"""Crash safety: a dispatcher process killed with SIGKILL in the middle of a
2,000-message campaign, restarted after its lease, delivers every message at least
once, and none twice to a gateway that honours the client message id. For SMTP (no
client id to honour) at most the messages in flight at the kill are sent twice; the
test prints how many."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.adapters.http_gateway import http_gateway
from tests.adapters.smtp_servers import smtp_server
from tests.dispatch.support import make_campaign, vinaphone

from massreach.engine import Reach
from massreach.model import MessageState

pytestmark = pytest.mark.slow

COUNT = 2000
LEASE = 2
BATCH = 50
KEY = "crash-key"


def dispatcher(url: str, cfg: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "massreach.cli.main", "--db", url, "--config", str(cfg)]
    command += ["dispatch", "--until-idle", "--json"]
    env = {**os.environ, "SMS_API_KEY": KEY}
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the dispatcher ended before {what}: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def kill_and_restart(url: str, cfg: Path, sent: Callable[[], int]) -> int:
    """Start, SIGKILL in the middle of a batch after a few hundred sends, wait out the
    lease, run again to the end; returns how many messages were in flight (claimed,
    not recorded) at the kill."""
    first = dispatcher(url, cfg)
    wait_for(lambda: (n := sent()) >= 400 and 10 <= n % BATCH < 40, first, "mid-batch")
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    with Reach(url) as reach:
        counts = reach.storage.message_counts(1)
    in_flight = counts.get(MessageState.sending, 0)
    assert counts.get(MessageState.pending, 0) > 0, "killed too late: nothing was left"
    time.sleep(LEASE + 0.5)  # the dead worker's lease runs out
    second = dispatcher(url, cfg)
    _out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    with Reach(url) as reach:
        counts = reach.storage.message_counts(1)
        assert reach.campaigns.get("crash").state.value == "completed"
    assert counts == {MessageState.sent: COUNT}
    return in_flight


def write_config(path: Path, tables: str) -> Path:
    path.write_text(
        f"{tables}\n[dispatch]\nlease_seconds = {LEASE}\nbatch_size = {BATCH}\n",
        encoding="utf-8",
    )
    return path


def test_sigkill_then_restart_sends_none_twice_to_a_deduplicating_gateway(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    with http_gateway(api_key=KEY) as gw:
        table = f'[[sms_gateway]]\nname = "default"\nurl = "{gw.url}"\napi_key_env = "SMS_API_KEY"'
        cfg = write_config(tmp_path / "massreach.toml", table)
        with Reach(url) as reach:
            make_campaign(reach, "crash", [vinaphone(n) for n in range(COUNT)])
        in_flight = kill_and_restart(url, cfg, lambda: len(gw.accepted))
        phones = Counter(str(m["phone"]) for m in gw.accepted.values())
    assert len(gw.accepted) == COUNT  # every message, each once
    assert set(phones) == {vinaphone(n) for n in range(COUNT)}
    assert max(phones.values()) == 1
    # claimed but unrecorded: the batch being sent and the next one, already claimed
    assert in_flight <= 2 * BATCH
    assert gw.duplicates <= min(in_flight, BATCH)  # only the one being sent went out
    print(
        f"\nHTTP gateway: {in_flight} in flight at the kill, {gw.duplicates} re-sent "
        "and dropped by the gateway, 0 sent twice"
    )


def test_sigkill_then_restart_sends_at_most_the_in_flight_twice_by_smtp(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    targets = [f"customer{n}@example.com" for n in range(COUNT)]
    with smtp_server() as server:
        table = (
            f'[[smtp]]\nname = "default"\nhost = "{server.host}"\nport = {server.port}\n'
            'from = "Shop <shop@example.com>"\nmax_connections = 2'
        )
        cfg = write_config(tmp_path / "massreach.toml", table)
        with Reach(url) as reach:
            make_campaign(reach, "crash", targets, channel="email", account="default")
        in_flight = kill_and_restart(url, cfg, lambda: len(server.messages))
        received = Counter(r for m in list(server.messages) for r in m.rcpt_tos)
    assert set(received) == set(targets)  # every message at least once
    twice = sum(n - 1 for n in received.values())
    assert in_flight <= 2 * BATCH
    assert twice <= min(in_flight, BATCH)
    print(f"\nSMTP: {in_flight} in flight at the kill, {twice} sent twice")
