"""Conformance rules for templates, campaigns and audiences (part of StorageConformance)."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from massreach.core.lifecycle import CampaignState
from massreach.errors import ConflictError, NotFound
from massreach.model import AudienceFigures, MessageState, TagFigure, Template
from massreach.storage import Storage
from massreach.testing.storage_base import (
    StorageTestBase,
    add_contacts,
    make_campaign,
    make_list,
)

__all__ = ["CampaignRules"]

A, B, C, D, E = (f"+8490500000{n}" for n in range(1, 6))


def _audience_list(storage: Storage, now: datetime) -> tuple[int, list[int]]:
    """``vip``: A (hn), B (hn, sg), an email-only contact (sg), C (hn, opted out), D."""
    vip = make_list(storage, "vip", now)
    ids = add_contacts(
        storage,
        vip.id,
        now,
        {"phone": A, "name": "An", "tags": ("hn",), "fields": {"param0": "10"}},
        {"phone": B, "name": "Binh", "tags": ("hn", "sg")},
        {"email": "chi@example.com", "tags": ("sg",)},
        {"phone": C, "tags": ("hn",)},
        {"phone": D},
    )
    storage.add_opt_outs([C], now=now)
    return vip.id, ids


class CampaignRules(StorageTestBase):
    """Templates and campaigns by unique name; audiences counted and expanded once."""

    def test_templates(self, storage: Storage, clock_start: datetime) -> None:
        """Templates are added or replaced by name and listed by name."""
        sms = Template("welcome", "sms", "Hi {name}", created_at=clock_start)
        mail = Template("promo", "email", "Body", subject="Sale {name}", html="<p>Body</p>")
        storage.save_template(sms)
        storage.save_template(mail)
        replaced = attrs.evolve(sms, body="Hello {name}", registered=True, brandname="SHOP")
        storage.save_template(replaced)
        assert storage.get_template("welcome") == replaced
        assert storage.get_template("promo") == mail
        assert [t.name for t in storage.templates()] == ["promo", "welcome"]
        assert storage.get_template("missing") is None

    def test_campaigns_have_unique_names(self, storage: Storage, clock_start: datetime) -> None:
        """create_campaign gives an id; names are unique; save overwrites by id."""
        vip = make_list(storage, "vip", clock_start)
        first = make_campaign(storage, "march", list_id=vip.id, tags=("hn",), now=clock_start)
        second = make_campaign(storage, "april", list_id=None, now=clock_start)
        assert first.id != second.id
        with pytest.raises(ConflictError):
            make_campaign(storage, "march", list_id=vip.id)
        assert storage.get_campaign("march") == first
        assert storage.get_campaign_by_id(second.id) == second
        assert [c.name for c in storage.campaigns()] == ["march", "april"]
        sending = attrs.evolve(
            first, state=CampaignState.sending, sent_by="boss", updated_at=clock_start
        )
        storage.save_campaign(sending)
        assert storage.get_campaign("march") == sending
        with pytest.raises(ConflictError):
            storage.save_campaign(attrs.evolve(second, name="march"))
        with pytest.raises(NotFound):
            storage.save_campaign(attrs.evolve(second, id=first.id + second.id + 100))
        assert storage.get_campaign("nope") is None

    def test_audience_figures(self, storage: Storage, clock_start: datetime) -> None:
        """Total of the source, reachable (target, not opted out), per tag reachable/total;
        campaign tags limit the reachable audience but every tag is listed."""
        vip, _ = _audience_list(storage, clock_start)
        everyone = make_campaign(storage, "all", list_id=vip)
        tags = (TagFigure("hn", 2, 3), TagFigure("sg", 1, 2))
        assert storage.audience_figures(everyone, channel_field="phone") == AudienceFigures(
            5, 3, tags
        )
        hanoi = make_campaign(storage, "hn", list_id=vip, tags=("hn",))
        assert storage.audience_figures(hanoi, channel_field="phone") == AudienceFigures(5, 2, tags)
        mail = make_campaign(storage, "mail", list_id=vip, channel="email")
        assert storage.audience_figures(mail, channel_field="email") == AudienceFigures(
            5, 1, (TagFigure("hn", 0, 3), TagFigure("sg", 1, 2))
        )

    def test_audience_pages(self, storage: Storage, clock_start: datetime) -> None:
        """audience() gives reachable contacts with a campaign tag, by id, paged."""
        vip, ids = _audience_list(storage, clock_start)
        everyone = make_campaign(storage, "all", list_id=vip)
        assert [c.id for c in storage.audience(everyone, channel_field="phone", limit=10)] == [
            ids[0],
            ids[1],
            ids[4],
        ]
        page = storage.audience(everyone, channel_field="phone", limit=1, after_id=ids[0])
        assert [c.id for c in page] == [ids[1]]
        sg = make_campaign(storage, "sg", list_id=vip, tags=("sg",))
        assert [c.id for c in storage.audience(sg, channel_field="phone", limit=10)] == [ids[1]]

    def test_expand_audience_once_per_target(self, storage: Storage, clock_start: datetime) -> None:
        """One pending message per target with the contact's variables, due at the
        schedule; a second expansion adds nothing, a new contact adds one."""
        vip, ids = _audience_list(storage, clock_start)
        later = clock_start + timedelta(hours=2)
        campaign = make_campaign(storage, "all", list_id=vip, scheduled_at=later)
        assert storage.expand_audience(campaign, channel_field="phone", now=clock_start) == 3
        messages = storage.messages(campaign.id)
        assert [(m.target, m.contact_id) for m in messages] == [
            (A, ids[0]),
            (B, ids[1]),
            (D, ids[4]),
        ]
        first = messages[0]
        contact = storage.get_contact(ids[0])
        assert contact is not None and first.variables == contact.variables()
        assert (first.state, first.attempts, first.due_at, first.lease_owner) == (
            MessageState.pending,
            0,
            later,
            None,
        )
        assert storage.expand_audience(campaign, channel_field="phone", now=clock_start) == 0
        add_contacts(storage, vip, clock_start, {"phone": E})
        assert storage.expand_audience(campaign, channel_field="phone", now=clock_start) == 1
        assert storage.message_counts(campaign.id) == {MessageState.pending: 4}

    def test_expand_whole_table_dedups_targets(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """A target in several lists (emails ignoring case) gets one message, from the
        contact with the lowest id; due now when the campaign has no schedule."""
        _vip, ids = _audience_list(storage, clock_start)
        other = make_list(storage, "other", clock_start)
        add_contacts(storage, other.id, clock_start, {"phone": A}, {"email": "CHI@Example.com"})
        by_phone = make_campaign(storage, "table-sms", list_id=None)
        assert storage.expand_audience(by_phone, channel_field="phone", now=clock_start) == 3
        messages = storage.messages(by_phone.id)
        assert sorted(m.target for m in messages) == [A, B, D]
        assert next(m.contact_id for m in messages if m.target == A) == ids[0]
        assert {m.due_at for m in messages} == {clock_start}
        by_mail = make_campaign(storage, "table-mail", list_id=None, channel="email")
        assert storage.expand_audience(by_mail, channel_field="email", now=clock_start) == 1
        assert [m.target for m in storage.messages(by_mail.id)] == ["chi@example.com"]

    def test_opted_out_targets_get_no_message(
        self, storage: Storage, clock_start: datetime
    ) -> None:
        """Opted-out targets are not in the audience (emails compared ignoring case)."""
        vip, _ = _audience_list(storage, clock_start)
        storage.add_opt_outs(["Chi@EXAMPLE.com", A], now=clock_start)
        sms = make_campaign(storage, "sms", list_id=vip)
        mail = make_campaign(storage, "mail", list_id=vip, channel="email")
        assert storage.expand_audience(sms, channel_field="phone", now=clock_start) == 2
        assert sorted(m.target for m in storage.messages(sms.id)) == [B, D]
        assert storage.expand_audience(mail, channel_field="email", now=clock_start) == 0
