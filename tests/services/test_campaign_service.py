"""CampaignService: templates, campaign rules, roles, audience editing, figures, preview,
confirm, send, the lifecycle and search, against the real ``memory:`` backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from massreach.core.lifecycle import CampaignState
from massreach.core.segments import is_gsm7
from massreach.engine import Reach
from massreach.errors import (
    ConflictError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    TemplateError,
)
from massreach.markers import hookimpl
from massreach.model import Campaign, CampaignSource, ContactQuery, MessageOutcome, MessageState
from massreach.services.campaigns import KEEP, CampaignService
from massreach.services.rendering import render_message

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class StateRecorder:
    """A plugin recording every campaign state change."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    @hookimpl
    def massreach_campaign_state_changed(self, campaign: Campaign, previous: str) -> None:
        self.events.append((campaign.name, previous, campaign.state.value))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder() -> StateRecorder:
    return StateRecorder()


@pytest.fixture
def reach(clock: Clock, recorder: StateRecorder) -> Iterator[Reach]:
    with Reach("memory:", clock=clock, plugins=[recorder]) as engine:
        yield engine


def phone(n: int) -> str:
    """A Vietnamese mobile number as people write it."""
    return f"09123456{n:02d}"


def e164(n: int) -> str:
    return f"+849123456{n:02d}"


def ads_campaign(service: CampaignService, name: str = "Tết sale", **kwargs: Any) -> Campaign:
    if service.storage.get_template("promo") is None:
        service.add_template("promo", "sms", "Chào {name}, giảm giá {param0}!")
    options: dict[str, Any] = {
        "channel": "sms",
        "kind": "ads",
        "template": "promo",
        "list_name": f"list {name}",
        "brandname": "SHOP",
        "user": "sup",
        "role": "supervisor",
    }
    options.update(kwargs)
    return service.create(name, **options)


def fill(service: CampaignService, name: str, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        service.add_contact(
            name,
            role="supervisor",
            phone=phone(n),
            name=f"Khách {n}",
            fields={"param0": f"{n}%"},
            tags=["hn" if n % 2 else "sg"],
        )


def deliver_all(reach: Reach, campaign: Campaign) -> None:
    """What a dispatcher does: claim every due message and record it as sent."""
    claimed = reach.storage.claim_messages(
        worker="w",
        now=reach.context.now(),
        lease=timedelta(minutes=1),
        limit=10_000,
        campaign_ids=[campaign.id],
    )
    reach.storage.record_outcomes(
        [MessageOutcome(m.id, MessageState.sent) for m in claimed],
        worker="w",
        now=reach.context.now(),
    )


# -- templates ---------------------------------------------------------------------------


def test_bad_template_is_refused_with_its_position(reach: Reach) -> None:
    with pytest.raises(TemplateError) as info:
        reach.campaigns.add_template("bad", "sms", "Hello {customer.name}")
    assert info.value.code == "template.syntax"
    assert info.value.details["position"] == 6
    assert "character 7" in info.value.message
    assert reach.campaigns.templates() == []


def test_template_rules(reach: Reach) -> None:
    service = reach.campaigns
    with pytest.raises(InvalidInput, match="subject"):
        service.add_template("m", "email", "Body")
    with pytest.raises(InvalidInput):
        service.add_template("s", "sms", "Body", subject="no")
    with pytest.raises(InvalidInput, match="brandname"):
        service.add_template("r", "sms", "Body {name}", registered=True)
    with pytest.raises(TemplateError) as info:
        service.add_template("h", "email", "Body", subject="Line\nbreak")
    assert info.value.code == "template.header_injection"
    mail = service.add_template("m", "email", "Hi {name}", subject="Hi {name}", html="<b>x</b>")
    assert mail.created_at == NOW
    service.add_template("s", "sms", "Hi {name}")
    with pytest.raises(ConflictError):
        service.add_template("s", "sms", "Other")
    service.add_template("s", "sms", "Hello {name}", replace=True)
    assert [t.name for t in service.templates()] == ["m", "s"]
    assert service.template("s").body == "Hello {name}"


def test_template_used_by_a_live_campaign_cannot_be_replaced(reach: Reach) -> None:
    service = reach.campaigns
    ads_campaign(service)
    fill(service, "Tết sale", 1)
    service.send("Tết sale", user="boss", role="manager")
    with pytest.raises(ConflictError) as info:
        service.add_template("promo", "sms", "Changed {name}", replace=True)
    assert info.value.code == "template.in_use"


# -- creating ----------------------------------------------------------------------------


def test_campaign_rules_per_channel_and_kind(reach: Reach) -> None:
    service = reach.campaigns
    service.add_template("care", "sms", "Số dư {balance}", registered=True, brandname="BANK")
    service.add_template("plain", "sms", "Hi {name}")
    service.add_template("mail", "email", "Hi {name}", subject="News")
    common: dict[str, Any] = {"user": "u", "role": "supervisor", "list_name": "l"}
    with pytest.raises(InvalidInput) as info:
        service.create("a", channel="sms", kind="ads", template="plain", **common)
    assert info.value.code == "campaign.brandname_required"
    with pytest.raises(InvalidInput) as info:
        service.create(
            "b", channel="sms", kind="care", template="plain", brandname="BANK", **common
        )
    assert info.value.code == "campaign.unregistered_template"
    with pytest.raises(InvalidInput) as info:
        service.create(
            "c", channel="sms", kind="care", template="care", brandname="OTHER", **common
        )
    assert info.value.code == "campaign.unregistered_template"
    with pytest.raises(InvalidInput) as info:
        service.create("d", channel="email", kind="ads", template="plain", **common)
    assert info.value.code == "template.wrong_channel"
    with pytest.raises(NotFound):
        service.create("e", channel="sms", kind="ads", template="nope", brandname="B", **common)
    care = service.create(
        "f", channel="sms", kind="cskh", template="care", brandname="BANK", **common
    )
    assert care.kind.value == "care" and care.state is CampaignState.draft
    mail = service.create("g", channel="email", kind="ads", template="mail", **common)
    assert mail.account == "default" and mail.created_by == "u"
    with pytest.raises(ConflictError):
        service.create("g", channel="email", kind="ads", template="mail", **common)
    with pytest.raises(InvalidInput) as info:
        service.create(
            "h",
            channel="sms",
            kind="ads",
            template="plain",
            brandname="B",
            scheduled_at=datetime(2027, 1, 1),
            **common,
        )
    assert info.value.code == "campaign.naive_time"


def test_agent_may_not_create(reach: Reach) -> None:
    with pytest.raises(PermissionDenied) as info:
        ads_campaign(reach.campaigns, role="agent")
    assert info.value.details == {
        "action": "create_campaign",
        "role": "agent",
        "required": "supervisor",
    }


def test_feed_is_chosen_at_creation_and_kept(reach: Reach) -> None:
    service = reach.campaigns
    ads_campaign(service, "crm", list_name="crm list", feed="crm")
    with pytest.raises(ConflictError) as info:
        ads_campaign(service, "csv", list_name="crm list", feed="csv")
    assert info.value.code == "campaign.feed_fixed"
    with pytest.raises(InvalidInput) as missing:
        service.add_contact(
            "crm", role="supervisor", phone=phone(1), name="A", fields={"param0": "1"}
        )
    assert missing.value.code == "campaign.crm_id_required"
    service.add_contact("crm", role="supervisor", phone=phone(1), crm_id="C1")
    with pytest.raises(ConflictError):
        service.edit_contact("crm", phone(1), role="supervisor", crm_id="C2")


# -- permissions ---------------------------------------------------------------------------


def test_supervisor_creates_and_edits_but_does_not_send(reach: Reach) -> None:
    service = reach.campaigns
    ads_campaign(service)
    fill(service, "Tết sale", 2)
    edited = service.edit("Tết sale", role="supervisor", tags=["hn"], transliterate=True)
    assert edited.source.tags == ("hn",) and edited.transliterate
    with pytest.raises(PermissionDenied) as info:
        service.send("Tết sale", user="sup", role="supervisor")
    error = info.value
    assert error.details["action"] == "send_campaign" and error.details["role"] == "supervisor"
    assert "supervisor" in error.message and "send campaigns" in error.message
    assert reach.storage.message_counts(edited.id) == {}
    sent = service.send("Tết sale", user="boss", role="manager")
    assert sent.state is CampaignState.sending and sent.sent_by == "boss"
    assert service.pause("Tết sale", role="supervisor").state is CampaignState.paused
    for action in (service.resume, service.cancel):
        with pytest.raises(PermissionDenied) as denied:
            action("Tết sale", role="supervisor")
        assert denied.value.details["role"] == "supervisor"
    assert service.resume("Tết sale", role="admin").state is CampaignState.sending


# -- audience editing ----------------------------------------------------------------------


def test_audience_is_edited_only_in_draft(reach: Reach) -> None:
    service = reach.campaigns
    ads_campaign(service)
    fill(service, "Tết sale", 3)
    with pytest.raises(ConflictError) as dup:
        service.add_contact("Tết sale", role="supervisor", phone="+84 912 345 601")
    assert dup.value.code == "campaign.duplicate_phone"
    with pytest.raises(ConflictError) as immutable:
        service.edit_contact("Tết sale", phone(1), role="supervisor", phone=phone(9))
    assert immutable.value.code == "contact.phone_immutable"
    edited = service.edit_contact(
        "Tết sale", phone(1), role="supervisor", name="Lan", fields={"param0": "5%"}
    )
    assert edited.name == "Lan" and edited.fields["param0"] == "5%"
    assert edited.phone == e164(1)
    removed = service.remove_contact("Tết sale", phone(2), role="supervisor")
    assert removed.phone == e164(2)
    with pytest.raises(NotFound):
        service.remove_contact("Tết sale", phone(2), role="supervisor")
    with pytest.raises(InvalidInput) as no_target:
        service.add_contact("Tết sale", role="supervisor", email="a@example.com")
    assert no_target.value.code == "contact.target_required"
    service.send("Tết sale", user="boss", role="manager")
    for attempt in (
        lambda: service.add_contact("Tết sale", role="supervisor", phone=phone(7)),
        lambda: service.edit_contact("Tết sale", phone(1), role="supervisor", name="X"),
        lambda: service.remove_contact("Tết sale", phone(1), role="supervisor"),
        lambda: service.add_from_contacts("Tết sale", ContactQuery(), role="supervisor"),
        lambda: service.edit("Tết sale", role="supervisor", brandname="X"),
    ):
        with pytest.raises(InvalidTransition) as refused:
            attempt()
        assert refused.value.code == "campaign.not_draft"
        assert refused.value.details["state"] == "sending"
        assert "sending" in refused.value.message and "draft" in refused.value.message


def test_add_from_contacts_never_adds_a_phone_twice(reach: Reach) -> None:
    service = reach.campaigns
    master = reach.storage.create_list("master", feed="csv", created_by=None, now=NOW)
    from massreach.model import ContactDraft

    reach.storage.add_contacts(
        [
            ContactDraft(master.id, phone=e164(n), name=f"M{n}", tags=("vip",) if n < 4 else ())
            for n in range(6)
        ]
        + [ContactDraft(master.id, email="only@mail.example", tags=("vip",))],
        now=NOW,
    )
    ads_campaign(service)
    service.add_contact("Tết sale", role="supervisor", phone=phone(0), name="already")
    query = ContactQuery(list_id=master.id, tags=("vip",))
    first = service.add_from_contacts("Tết sale", query, role="supervisor")
    assert (first.added, first.duplicates, first.without_target) == (3, 1, 1)
    again = service.add_from_contacts("Tết sale", query, role="supervisor")
    assert (again.added, again.duplicates) == (0, 4)
    everyone = service.add_from_contacts("Tết sale", ContactQuery(), role="supervisor")
    assert everyone.added == 2
    figures = service.audience("Tết sale")
    assert figures.total == 6


# -- audience figures ----------------------------------------------------------------------


def test_audience_figures_per_tag_with_opt_outs_and_missing_targets(reach: Reach) -> None:
    service = reach.campaigns
    service.add_template("mail", "email", "Hi {param0}", subject="News for {name}")
    service.create(
        "news",
        channel="email",
        kind="care",
        template="mail",
        list_name="mail",
        user="u",
        role="supervisor",
        source=None,
    )
    lst = reach.storage.get_list("mail")
    assert lst is not None
    from massreach.model import ContactDraft

    reach.storage.add_contacts(
        [
            ContactDraft(
                lst.id, email="Ann@x.example", name="A", tags=("hn",), fields={"param0": "a"}
            ),
            ContactDraft(lst.id, email="b@x.example", name="B", tags=("hn", "sg")),
            ContactDraft(lst.id, phone=e164(1), name="NoMail", tags=("hn",)),
            ContactDraft(lst.id, email="opt@x.example", name="Out", tags=("sg",)),
        ],
        now=NOW,
    )
    reach.storage.add_opt_outs(["OPT@x.example"], now=NOW)
    report = service.audience("news")
    assert (report.total, report.reachable) == (4, 2)
    assert report.tag_lines == ["hn (2/3)", "sg (1/2)"]
    first = report.records[0]
    assert first.variables == {"param0": "a", "name": "A"} and first.target == "A***@x.example"
    assert report.records[1].missing == ("param0",)
    sg = service.audience("news", tag="sg")
    assert [r.name for r in sg.records] == ["B"]
    service.edit("news", role="supervisor", tags=["sg"])
    assert service.audience("news").reachable == 1


def test_audience_shows_twelve_records_with_the_variable_map(reach: Reach) -> None:
    service = reach.campaigns
    ads_campaign(service)
    fill(service, "Tết sale", 15)
    service.edit("Tết sale", role="supervisor", variable_map={"param0": "phone"})
    report = service.audience("Tết sale")
    assert len(report.records) == 12
    shown = report.records[3].variables["param0"]
    assert shown == "+849****5603" and e164(3) not in repr(report)


# -- preview and confirm ----------------------------------------------------------------------


def test_preview_of_an_advertising_sms_as_it_will_be_sent(reach: Reach) -> None:
    service = reach.campaigns
    ads_campaign(service)
    fill(service, "Tết sale", 3)
    preview = service.preview("Tết sale")
    assert preview.text.startswith("[QC] Chào Khách 0, giảm giá 0%!")
    assert preview.text.endswith("Tu choi QC soan TC gui 9xxx")
    assert (preview.encoding, preview.segments) == ("UCS-2", 1)
    assert preview.original is not None and preview.original.encoding == "UCS-2"
    assert preview.transliterated is not None and preview.transliterated.encoding == "GSM-7"
    assert (preview.messages, preview.reachable, preview.total) == (3, 3, 3)
    assert preview.total_segments == 3 and preview.total_segments_exact
    chosen = service.preview("Tết sale", contact="+84 912 345 602")
    assert "Khách 2" in chosen.text and chosen.contact == "record 3 (+849****5602)"
    service.edit("Tết sale", role="supervisor", transliterate=True)
    plain = service.preview("Tết sale")
    assert plain.text == "[QC] Chao Khach 0, giam gia 0%! Tu choi QC soan TC gui 9xxx"
    assert is_gsm7(plain.text) and plain.encoding == "GSM-7"
    assert plain.original is not None and plain.original.encoding == "UCS-2"


def test_preview_names_the_missing_variable_and_the_masked_contact(reach: Reach) -> None:
    service = reach.campaigns
    ads_campaign(service)
    service.add_contact("Tết sale", role="supervisor", phone=phone(1), name="An")
    with pytest.raises(TemplateError) as info:
        service.preview("Tết sale")
    error = info.value
    assert error.code == "template.missing_variable"
    assert error.details["variable"] == "param0"
    assert "param0" in error.message and "+849****5601" in error.message
    assert e164(1) not in str(error.to_dict())


def test_preview_of_an_email_and_of_an_empty_audience(reach: Reach) -> None:
    service = reach.campaigns
    service.add_template(
        "mail", "email", "Dear {name}", subject="Offer for {name}", html="<p>{name}</p>"
    )
    service.create(
        "mail",
        channel="email",
        kind="ads",
        template="mail",
        list_name="m",
        account="smtp-main",
        user="u",
        role="manager",
    )
    with pytest.raises(InvalidInput) as empty:
        service.preview("mail")
    assert empty.value.code == "campaign.no_audience"
    service.add_contact("mail", role="supervisor", email="x@y.example", name="<Ann>")
    preview = service.preview("mail", contact="X@Y.example")
    assert preview.subject == "[QC] Offer for <Ann>"
    assert preview.html == "<p>&lt;Ann&gt;</p>" and preview.encoding is None
    confirmation = service.confirm("mail")
    assert (confirmation.channel, confirmation.account, confirmation.brandname) == (
        "email",
        "smtp-main",
        None,
    )
    assert confirmation.messages == 1 and confirmation.template == "mail"


def test_confirm_an_sms_campaign(reach: Reach) -> None:
    service = reach.campaigns
    at = NOW + timedelta(hours=3)
    ads_campaign(service, scheduled_at=at, tags=["hn"])
    fill(service, "Tết sale", 4)
    c = service.confirm("Tết sale")
    assert (c.channel, c.kind, c.brandname, c.account) == ("sms", "ads", "SHOP", None)
    assert (c.total, c.audience, c.messages, c.scheduled_at) == (4, 2, 2, at)
    assert c.tags == ("hn",) and c.total_segments == 2


# -- send and the lifecycle --------------------------------------------------------------


def test_send_refuses_before_creating_anything_when_a_message_cannot_render(
    reach: Reach,
) -> None:
    service = reach.campaigns
    ads_campaign(service)
    fill(service, "Tết sale", 2)
    for n in range(2, 15):
        service.add_contact("Tết sale", role="supervisor", phone=phone(n), name=f"N{n}")
    with pytest.raises(TemplateError) as info:
        service.send("Tết sale", user="boss", role="manager")
    error = info.value
    assert error.code == "campaign.unrenderable"
    assert (error.details["failed"], error.details["checked"]) == (13, 15)
    problems = error.details["problems"]
    assert len(problems) == 10
    assert problems[0]["variable"] == "param0" and problems[0]["record"] == 3
    assert "+849****5602" in error.message and e164(2) not in error.message
    campaign = service.get("Tết sale")
    assert campaign.state is CampaignState.draft
    assert reach.storage.message_counts(campaign.id) == {}


def test_lifecycle_through_the_service(reach: Reach, recorder: StateRecorder) -> None:
    service = reach.campaigns
    campaign = ads_campaign(service)
    fill(service, "Tết sale", 3)
    sent = service.send("Tết sale", user="boss", role="manager")
    assert reach.storage.message_counts(campaign.id) == {MessageState.pending: 3}
    with pytest.raises(InvalidTransition) as again:
        service.send("Tết sale", user="boss", role="manager")
    assert "sending" in again.value.message
    assert reach.storage.message_counts(campaign.id) == {MessageState.pending: 3}
    assert service.complete_if_done("Tết sale").state is CampaignState.sending
    deliver_all(reach, sent)
    done = service.complete_if_done("Tết sale")
    assert done.state is CampaignState.completed
    report = service.show("Tết sale")
    assert report.messages == {"sent": 3} and report.total_messages == 3
    for action in (service.pause, service.resume, service.cancel):
        with pytest.raises(InvalidTransition) as finished:
            action("Tết sale", role="admin")
        assert "completed" in finished.value.message
    assert recorder.events == [
        ("Tết sale", "draft", "sending"),
        ("Tết sale", "sending", "completed"),
    ]


def test_cancel_cancels_waiting_messages(reach: Reach) -> None:
    service = reach.campaigns
    campaign = ads_campaign(service)
    fill(service, "Tết sale", 3)
    service.send("Tết sale", user="boss", role="manager")
    service.pause("Tết sale", role="supervisor")
    cancelled = service.cancel("Tết sale", role="manager")
    assert cancelled.state is CampaignState.cancelled
    assert reach.storage.message_counts(campaign.id) == {MessageState.cancelled: 3}
    with pytest.raises(InvalidTransition):
        service.resume("Tết sale", role="manager")


def test_scheduled_campaign_starts_when_its_time_comes(
    reach: Reach, clock: Clock, recorder: StateRecorder
) -> None:
    service = reach.campaigns
    at = NOW + timedelta(hours=2)
    campaign = ads_campaign(service, scheduled_at=at)
    fill(service, "Tết sale", 2)
    scheduled = service.send("Tết sale", user="boss", role="manager")
    assert scheduled.state is CampaignState.scheduled
    messages = reach.storage.messages(campaign.id)
    assert {m.due_at for m in messages} == {at}
    assert service.activate_due() == []
    clock.now = at
    started = service.activate_due()
    assert [c.state for c in started] == [CampaignState.sending]
    assert recorder.events == [
        ("Tết sale", "draft", "scheduled"),
        ("Tết sale", "scheduled", "sending"),
    ]
    assert len(reach.storage.messages(campaign.id)) == 2


def test_send_with_a_past_time_starts_now(reach: Reach) -> None:
    service = reach.campaigns
    ads_campaign(service, scheduled_at=NOW - timedelta(minutes=5))
    fill(service, "Tết sale", 1)
    assert service.send("Tết sale", user="boss", role="admin").state is CampaignState.sending


def test_send_with_no_reachable_customer_is_refused(reach: Reach) -> None:
    service = reach.campaigns
    ads_campaign(service)
    fill(service, "Tết sale", 1)
    reach.storage.add_opt_outs([e164(0)], now=NOW)
    with pytest.raises(InvalidInput) as info:
        service.send("Tết sale", user="boss", role="manager")
    assert info.value.code == "campaign.no_audience"


def test_care_campaign_from_the_contacts_table_with_a_variable_map(reach: Reach) -> None:
    service = reach.campaigns
    service.add_template(
        "otp", "sms", "Ma {param0} cho {param1}", registered=True, brandname="BANK"
    )
    lst = reach.storage.create_list("crm", feed="csv", created_by=None, now=NOW)
    from massreach.model import ContactDraft

    reach.storage.add_contacts(
        [
            ContactDraft(lst.id, phone=e164(n), name=f"Tên {n}", fields={"code": f"C{n}"})
            for n in range(3)
        ],
        now=NOW,
    )
    source = CampaignSource(target_field="phone", variable_map={"param0": "code", "param1": "name"})
    campaign = service.create(
        "otp",
        channel="sms",
        kind="care",
        template="otp",
        source=source,
        brandname="BANK",
        transliterate=True,
        user="u",
        role="manager",
    )
    preview = service.preview("otp")
    assert preview.text == "Ma C0 cho Ten 0"
    with pytest.raises(InvalidInput) as no_list:
        service.add_contact("otp", role="manager", phone=phone(9))
    assert no_list.value.code == "campaign.no_list"
    service.send("otp", user="boss", role="manager")
    stored = reach.storage.messages(campaign.id)
    template = service.template("otp")
    texts = [render_message(campaign, template, m.variables).text for m in stored]
    assert texts == ["Ma C0 cho Ten 0", "Ma C1 cho Ten 1", "Ma C2 cho Ten 2"]


def test_edit_keeps_what_is_not_given(reach: Reach) -> None:
    service = reach.campaigns
    ads_campaign(service, tags=["hn"])
    later = NOW + timedelta(days=1)
    edited = service.edit("Tết sale", role="supervisor", scheduled_at=later, brandname=KEEP)
    assert edited.scheduled_at == later and edited.brandname == "SHOP"
    assert edited.source.tags == ("hn",)
    cleared = service.edit("Tết sale", role="supervisor", scheduled_at=None)
    assert cleared.scheduled_at is None
    with pytest.raises(InvalidInput):
        service.edit("Tết sale", role="supervisor", brandname=None)


# -- search and show ------------------------------------------------------------------------


def test_search_by_name_ignoring_case_and_accents_and_by_state(reach: Reach) -> None:
    service = reach.campaigns
    ads_campaign(service, "Khuyến mãi Tết")
    ads_campaign(service, "Black Friday")
    fill(service, "Black Friday", 1)
    service.send("Black Friday", user="boss", role="manager")
    assert [c.name for c in service.search("KHUYEN MAI")] == ["Khuyến mãi Tết"]
    assert [c.name for c in service.search("tet")] == ["Khuyến mãi Tết"]
    assert [c.name for c in service.search(state="sending")] == ["Black Friday"]
    assert [c.name for c in service.search("friday", state="draft")] == []
    assert len(service.search()) == 2
    with pytest.raises(InvalidInput):
        service.search(state="sleeping")
    with pytest.raises(NotFound):
        service.show("nope")


def test_a_registered_text_must_survive_transliteration(reach: Reach) -> None:
    service = reach.campaigns
    service.add_template("otp", "sms", "Mã của bạn là {param0}.", registered=True, brandname="BANK")
    service.create(
        "otp",
        channel="sms",
        kind="care",
        template="otp",
        list_name="l",
        brandname="BANK",
        transliterate=True,
        user="u",
        role="manager",
    )
    service.add_contact("otp", role="manager", phone=phone(1), fields={"param0": "\u200d"})
    with pytest.raises(TemplateError) as info:
        service.preview("otp")
    assert info.value.code == "template.unregistered_text"
    service.edit_contact("otp", phone(1), role="manager", fields={"param0": "1234"})
    assert service.preview("otp").text == "Ma cua ban la 1234."
