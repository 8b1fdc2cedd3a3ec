"""massreach finds the plugin from outside its package: through the ``massreach`` entry
point of this installed distribution (``pip install -e examples/gateway-plugin``), then
from an ``[[acme_sms]]`` table in a configuration file, up to a dispatched campaign."""

from __future__ import annotations

import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from massreach import Reach
from massreach.channels import ChannelRegistry, OutgoingMessage, SendStatus
from massreach.config import load_config
from massreach.errors import ConfigError
from massreach.model import ContactDraft
from massreach.model.contacts import ListFeed
from massreach.plugins import Hooks, make_plugin_manager

import massreach_acme_sms.plugin
from acme_server import AcmeServer
from massreach_acme_sms import AcmeSmsChannel, AcmeSmsChannelFactory
from support import SECRET, SECRET_ENV


def registry_for(env: dict[str, str], *, autoload: bool = True) -> ChannelRegistry:
    """The channel registry an engine builds: every factory the plugins register."""
    registry = ChannelRegistry()
    for factory in Hooks(make_plugin_manager(autoload=autoload, env=env)).channel_factories():
        registry.register(factory)
    return registry


def write_config(folder: Path, url: str) -> Path:
    path = folder / "massreach.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [[acme_sms]]
            name = "default"
            url = "{url}"
            sender_default = "SHOP"
            secret_env = "{SECRET_ENV}"
            timeout = 5
            """
        ),
        encoding="utf-8",
    )
    return path


def test_the_distribution_declares_the_entry_point() -> None:
    [point] = [p for p in entry_points(group="massreach") if p.name == "acme_sms"]
    assert point.value == "massreach_acme_sms.plugin"
    assert point.dist is not None and point.dist.name == "massreach-acme-sms"


def test_the_plugin_manager_loads_it_and_channels_know_acme_sms() -> None:
    pm = make_plugin_manager(env={})
    assert pm.get_plugin("acme_sms") is massreach_acme_sms.plugin
    registry = registry_for({})
    assert {"smtp", "sms_gateway", "file_outbox", "acme_sms"} <= set(registry.kinds())
    assert isinstance(registry.factory("acme_sms"), AcmeSmsChannelFactory)


def test_without_autoload_or_when_disabled_it_is_not_there() -> None:
    assert "acme_sms" not in registry_for({}, autoload=False).kinds()
    assert "acme_sms" not in registry_for({"MASSREACH_DISABLE_PLUGINS": "acme_sms"}).kinds()


def test_a_config_file_with_an_acme_sms_table_builds_a_working_channel(
    tmp_path: Path, acme: AcmeServer
) -> None:
    env = {SECRET_ENV: SECRET}
    registry = registry_for(env)
    config = load_config(
        write_config(tmp_path, acme.base_url), env, extra_channel_kinds=registry.kinds()
    )
    channels = registry.build(config, env)
    try:
        assert set(channels) == {("sms", "default")}
        channel = channels["sms", "default"]
        assert isinstance(channel, AcmeSmsChannel)
        message = OutgoingMessage(
            message_id=1,
            client_id="mr-1-1",
            campaign_id=1,
            channel="sms",
            kind="care",
            target="+84961234567",
            text="Đơn hàng của bạn đã sẵn sàng",
        )
        [result] = channel.send_batch([message])
    finally:
        for channel in channels.values():
            channel.close()
    assert result.status is SendStatus.SENT
    assert [m["msisdn"] for m in acme.taken()] == ["84961234567"]


def test_the_secret_itself_may_not_be_written_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "massreach.toml"
    path.write_text('[[acme_sms]]\nurl = "http://x"\nsender_default = "S"\nsecret = "s"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, {}, extra_channel_kinds=registry_for({}).kinds())
    assert info.value.code == "config.secret_in_file"


def test_a_campaign_is_dispatched_through_acme(tmp_path: Path, acme: AcmeServer) -> None:
    """A host product's view: Reach with the config file; nothing names the plugin."""
    env = {SECRET_ENV: SECRET}
    phones = ["+84961234567", "+84912345678"]
    with Reach("memory:", config=write_config(tmp_path, acme.base_url), env=env) as reach:
        now = reach.context.now()
        customers = reach.storage.create_list(
            "customers", feed=ListFeed.csv, created_by="t", now=now
        )
        drafts = [
            ContactDraft(list_id=customers.id, phone=phone, name=f"Khách {n}", tags=())
            for n, phone in enumerate(phones)
        ]
        reach.storage.add_contacts(drafts, now=now)
        reach.campaigns.add_template(
            "ready", "sms", "Chào {name}, đơn hàng đã sẵn sàng.", registered=True, brandname="SHOP"
        )
        reach.campaigns.create(
            "orders",
            channel="sms",
            kind="care",
            template="ready",
            list_name="customers",
            brandname="SHOP",
            user="t",
            role="manager",
        )
        reach.campaigns.send("orders", user="t", role="manager")
        report = reach.dispatch.run(until_idle=True)
        assert report.states == {"sent": 2}
        provider_ids = {v.provider_id for v in reach.dispatch.sent("orders")}
    taken = acme.taken()
    assert sorted(m["msisdn"] for m in taken) == sorted(p.removeprefix("+") for p in phones)
    assert {m["body"] for m in taken} == {
        "Chào Khách 0, đơn hàng đã sẵn sàng.",
        "Chào Khách 1, đơn hàng đã sẵn sàng.",
    }
    assert all(m["ref"].startswith("mr-") and m["sender"] == "SHOP" for m in taken)
    assert provider_ids == {"ACME00000001", "ACME00000002"}
