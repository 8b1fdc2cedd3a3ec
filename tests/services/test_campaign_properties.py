"""Hypothesis properties of the campaign service: rendering on the service path,
audience figures, one message per target, segment counts, and the lifecycle."""

from __future__ import annotations

import contextlib
import itertools
import string
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from massreach.core.lifecycle import CampaignAction, CampaignState, allowed_actions
from massreach.core.roles import Action, Role, allows
from massreach.core.segments import count_segments, is_gsm7
from massreach.core.templates import (
    CompiledTemplate,
    label_advertising,
    label_advertising_compiled,
    parse_template,
)
from massreach.core.textfold import LATIN_BASE_LETTERS, fold, strip_accents
from massreach.engine import Reach
from massreach.errors import InvalidTransition, MassreachError, PermissionDenied
from massreach.markers import hookimpl
from massreach.model import (
    Campaign,
    CampaignSource,
    ContactDraft,
    MessageOutcome,
    MessageState,
    Template,
)
from massreach.services.rendering import render_message

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TAGS = ("hn", "sg", "dn")


def engine() -> Reach:
    return Reach("memory:", clock=lambda: NOW)


# -- rendering on the service path --------------------------------------------------------

template_text = st.lists(
    st.sampled_from([*"{}ab_0 .:!\n", "name", "param0", "ễ", "€", "😀"]), max_size=30
).map("".join)
values = st.dictionaries(
    st.sampled_from(["name", "param0", "a", "b", "ab", "a_0"]),
    st.text(max_size=12),
    max_size=6,
)
campaign_options = st.fixed_dictionaries(
    {"kind": st.sampled_from(["care", "ads"]), "transliterate": st.booleans()}
)


@given(
    body=template_text,
    subject=template_text,
    variables=values,
    options=campaign_options,
    channel=st.sampled_from(["sms", "email"]),
)
def test_rendering_raises_nothing_but_massreach_errors(
    body: str, subject: str, variables: dict[str, str], options: dict[str, Any], channel: str
) -> None:
    with engine() as reach:
        service = reach.campaigns
        try:
            service.add_template(
                "t",
                channel,
                body,
                subject=subject if channel == "email" else None,
                registered=channel == "sms",
                brandname="B",
            )
        except MassreachError:
            return
        campaign = service.create(
            "c",
            channel=channel,
            template="t",
            list_name="l",
            brandname="B",
            transliterate=options["transliterate"] and channel == "sms",
            kind=options["kind"],
            user="u",
            role="manager",
        )
        with contextlib.suppress(MassreachError):
            render_message(campaign, service.template("t"), variables)


literal = st.text(
    alphabet=st.characters(blacklist_characters="{}", blacklist_categories=["Cs"]), max_size=10
)
name = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=6)
value = st.text(
    alphabet=st.characters(blacklist_characters="{}", blacklist_categories=["Cs"]),
    min_size=1,
    max_size=10,
).filter(lambda v: v.strip() != "")


@given(
    parts=st.lists(st.tuples(literal, name), max_size=5),
    tail=literal,
    data=st.data(),
    transliterate=st.booleans(),
    kind=st.sampled_from(["care", "ads"]),
)
def test_preview_never_leaves_a_placeholder(
    parts: list[tuple[str, str]], tail: str, data: st.DataObject, transliterate: bool, kind: str
) -> None:
    body = "".join(f"{lit}{{{var}}}" for lit, var in parts) + tail
    names = sorted({var for _, var in parts})
    fields = {n: data.draw(value, label=n) for n in names}
    with engine() as reach:
        service = reach.campaigns
        service.add_template("t", "sms", body, registered=True, brandname="B")
        service.create(
            "c",
            channel="sms",
            kind=kind,
            template="t",
            list_name="l",
            brandname="B",
            transliterate=transliterate,
            user="u",
            role="supervisor",
        )
        service.add_contact("c", role="supervisor", phone="0912345678", fields=fields)
        try:
            preview = service.preview("c")
        except MassreachError as exc:
            # only a registered care text whose variable vanishes in transliteration
            assert exc.code == "template.unregistered_text" and transliterate
            return
        assert "{" not in preview.text and "}" not in preview.text
        if not transliterate and kind == "care":
            expected = "".join(f"{lit}{fields[var]}" for lit, var in parts) + tail
            assert preview.text == expected
        if transliterate:
            assert is_gsm7(preview.text)


# -- segment counts ------------------------------------------------------------------------


def gsm_segments(costs: list[int]) -> int:
    """Segments from per-character septet costs (an escape pair never split)."""
    if sum(costs) <= 160:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > 153:
            parts, used = parts + 1, cost
        else:
            used += cost
    return parts


@given(
    text=st.text(
        alphabet=st.sampled_from(list("aZ 09@£€[]^{}ễăđ😀Ω\n")), min_size=1, max_size=400
    ).filter(lambda t: t.strip() and "{" not in t and "}" not in t),
    transliterate=st.booleans(),
)
def test_preview_segments_agree_with_gsm0338(text: str, transliterate: bool) -> None:
    with engine() as reach:
        service = reach.campaigns
        service.add_template("t", "sms", "{param0}")
        service.create(
            "c",
            channel="sms",
            kind="ads",
            template="t",
            list_name="l",
            brandname="B",
            transliterate=transliterate,
            user="u",
            role="manager",
        )
        service.add_contact("c", role="manager", phone="0912345678", fields={"param0": text})
        preview = service.preview("c")
    counted = count_segments(preview.text)
    assert (preview.encoding, preview.segments) == (counted.encoding, counted.segments)
    if transliterate:
        assert preview.encoding == "GSM-7"
    if preview.encoding == "GSM-7":
        costs = [len(ch.encode("gsm03.38")) for ch in preview.text]
        assert preview.characters == sum(costs)
        assert preview.segments == gsm_segments(costs)
    assert preview.transliterated is not None and preview.transliterated.encoding == "GSM-7"


# -- audience figures and expansion --------------------------------------------------------

contact = st.fixed_dictionaries(
    {
        "email": st.one_of(
            st.none(),
            st.sampled_from(["ann@x.vn", "ANN@X.VN", "Ann@x.vn", "bob@x.vn", "cy@x.vn", "Cy@X.vn"]),
        ),
        "tags": st.lists(st.sampled_from(TAGS), max_size=3),
    }
)


@given(
    contacts=st.lists(contact, max_size=14),
    opted=st.lists(st.sampled_from(["ann@x.vn", "BOB@x.vn", "nobody@x.vn"]), max_size=2),
    tags=st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
)
def test_audience_figures_and_one_message_per_target(
    contacts: list[dict[str, Any]], opted: list[str], tags: list[str]
) -> None:
    with engine() as reach:
        service = reach.campaigns
        service.add_template("t", "email", "Hi", subject="News")
        campaign = service.create(
            "c",
            channel="email",
            kind="ads",
            template="t",
            list_name="l",
            tags=tags,
            user="u",
            role="manager",
        )
        assert campaign.source.list_id is not None
        reach.storage.add_contacts(
            [
                ContactDraft(campaign.source.list_id, email=c["email"], tags=c["tags"])
                for c in contacts
            ],
            now=NOW,
        )
        reach.storage.add_opt_outs(opted, now=NOW)
        out = {o.casefold() for o in opted}

        def reachable(c: dict[str, Any]) -> bool:
            return c["email"] is not None and c["email"].casefold() not in out

        report = service.audience("c")
        assert report.total == len(contacts)
        in_audience = [
            c for c in contacts if reachable(c) and (not tags or set(tags) & set(c["tags"]))
        ]
        assert report.reachable == len(in_audience)
        expected = []
        for tag in sorted({t for c in contacts for t in c["tags"]}):
            having = [c for c in contacts if tag in c["tags"]]
            expected.append(f"{tag} ({sum(map(reachable, having))}/{len(having)})")
        assert report.tag_lines == expected

        if not in_audience:
            return
        service.send("c", user="boss", role="manager")
        reach.storage.expand_audience(campaign, channel_field="email", now=NOW)
        with pytest.raises(InvalidTransition):
            service.send("c", user="boss", role="manager")
        messages = reach.storage.messages(campaign.id, limit=100)
        targets = [m.target.casefold() for m in messages]
        assert len(targets) == len(set(targets))
        assert set(targets) == {c["email"].casefold() for c in in_audience}


@given(lists=st.lists(st.lists(st.integers(0, 6), unique=True, max_size=6), min_size=1, max_size=3))
def test_a_phone_in_several_lists_gets_one_message(lists: list[list[int]]) -> None:
    assume(any(lists))
    with engine() as reach:
        service = reach.campaigns
        service.add_template("t", "sms", "Hi {name}")
        for index, numbers in enumerate(lists):
            lst = reach.storage.create_list(f"l{index}", feed="csv", created_by=None, now=NOW)
            reach.storage.add_contacts(
                [ContactDraft(lst.id, phone=f"+8491234560{n}", name=f"N{n}") for n in numbers],
                now=NOW,
            )
        campaign = service.create(
            "c",
            channel="sms",
            kind="ads",
            template="t",
            source=CampaignSource(target_field="phone"),
            brandname="B",
            user="u",
            role="admin",
        )
        service.send("c", user="u", role="admin")
        reach.storage.expand_audience(campaign, channel_field="phone", now=NOW)
        targets = [m.target for m in reach.storage.messages(campaign.id)]
        assert sorted(targets) == sorted({f"+8491234560{n}" for ns in lists for n in ns})


# -- the lifecycle through the service -----------------------------------------------------

_ROLE = st.sampled_from(list(Role))
_NEEDED = {
    "send": Action.send_campaign,
    "pause": Action.pause_campaign,
    "resume": Action.resume_campaign,
    "cancel": Action.cancel_campaign,
}
_ACTION = {
    "pause": CampaignAction.pause,
    "resume": CampaignAction.resume,
    "cancel": CampaignAction.cancel,
}


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    @hookimpl
    def massreach_campaign_state_changed(self, campaign: Campaign, previous: str) -> None:
        self.events.append((previous, campaign.state.value))


class CampaignLifecycle(RuleBasedStateMachine):
    """Random user actions, deliveries and clock ticks against one campaign."""

    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.recorder = Recorder()
        self.reach = Reach("memory:", clock=lambda: self.now, plugins=[self.recorder])
        service = self.reach.campaigns
        service.add_template("t", "sms", "Hi {name}")
        self.campaign = service.create(
            "c",
            channel="sms",
            kind="ads",
            template="t",
            list_name="l",
            brandname="B",
            scheduled_at=NOW + timedelta(minutes=30),
            user="u",
            role="supervisor",
        )
        for n in range(3):
            service.add_contact("c", role="supervisor", phone=f"091234560{n}", name=f"N{n}")

    def teardown(self) -> None:
        self.reach.close()

    @property
    def state(self) -> CampaignState:
        return self.reach.campaigns.get("c").state

    def _act(self, what: str, role: Role) -> None:
        service = self.reach.campaigns
        before = self.state
        due = self.campaign.scheduled_at is not None and self.campaign.scheduled_at > self.now
        action = _ACTION.get(what, CampaignAction.schedule if due else CampaignAction.start)
        if not allows(role, _NEEDED[what]):
            with pytest.raises(PermissionDenied):
                getattr(service, what)("c", user="x", role=role)
            assert self.state is before
        elif action not in allowed_actions(before):
            with pytest.raises(InvalidTransition):
                getattr(service, what)("c", user="x", role=role)
            assert self.state is before
        else:
            getattr(service, what)("c", user="x", role=role)

    @rule(role=_ROLE)
    def send(self, role: Role) -> None:
        self._act("send", role)

    @rule(role=_ROLE, what=st.sampled_from(["pause", "resume", "cancel"]))
    def control(self, role: Role, what: str) -> None:
        self._act(what, role)

    @rule(minutes=st.integers(1, 40))
    def tick(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        self.reach.campaigns.activate_due()

    @rule(limit=st.integers(1, 3))
    def deliver(self, limit: int) -> None:
        storage = self.reach.storage
        claimed = storage.claim_messages(
            worker="w", now=self.now, lease=timedelta(minutes=1), limit=limit
        )
        storage.record_outcomes(
            [MessageOutcome(m.id, MessageState.sent) for m in claimed], worker="w", now=self.now
        )
        self.reach.campaigns.complete_if_done("c")

    @precondition(lambda self: self.state not in (CampaignState.completed, CampaignState.cancelled))
    @invariant()
    def an_end_stays_reachable(self) -> None:
        assert CampaignAction.cancel in allowed_actions(self.state)

    @invariant()
    def messages_are_never_doubled(self) -> None:
        counts = self.reach.storage.message_counts(self.campaign.id)
        assert sum(counts.values()) in (0, 3)
        if self.state is CampaignState.completed:
            assert set(counts) == {MessageState.sent}

    @invariant()
    def every_change_was_told_to_plugins(self) -> None:
        events = self.recorder.events
        for (_, new), (previous, _) in itertools.pairwise(events):
            assert new == previous
        assert (events[-1][1] if events else "draft") == self.state.value


TestCampaignLifecycle = CampaignLifecycle.TestCase
TestCampaignLifecycle.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


def test_render_message_is_the_dispatch_path() -> None:
    """render_message applies the map, the label and transliteration like the preview."""
    template = Template("t", "sms", "Chào {param0}")
    campaign = Campaign(
        id=1,
        name="c",
        channel="sms",
        kind="ads",
        template="t",
        source=CampaignSource(variable_map={"param0": "name"}),
        brandname="B",
        transliterate=True,
    )
    rendered = render_message(campaign, template, {"name": "Đức"})
    assert rendered.text == "[QC] Chao Duc Tu choi QC soan TC gui 9xxx"
    mail = Template("m", "email", "Hi {name}", subject="Hi {name}")
    email_campaign = Campaign(
        id=2, name="m", channel="email", kind="care", template="m", account="default"
    )
    with pytest.raises(MassreachError) as info:
        render_message(email_campaign, mail, {"name": "x\r\nBcc: all@evil.example"})
    assert info.value.code == "template.header_injection"


# -- the core helpers the campaign path relies on for speed --------------------------------

_TOKENS = st.sampled_from(
    [
        "[QC]",
        "[qc",
        "QC]",
        " ",
        ".",
        "!",
        "\n",
        "Tu choi QC soan TC gui 9xxx",
        "tu choi",
        "9xxx",
        "ễ",
        "e",
        "\u0301",
        "ß",
        "ﬁ",
        "．",
        "Ａ",
        "\u1100",
        "\u1161",
        "\u11a8",
        "가",
        "x",
    ]
)
_FOLDABLE = st.lists(_TOKENS, max_size=12).map("".join)


def _reference_label(text: str, label: str, opt_out: str) -> str:
    """label_advertising as first written: folding the whole text."""
    out = text
    if label and not fold(out.lstrip()).startswith(fold(label)):
        out = f"{label} {out.lstrip()}" if out.strip() else label
    if opt_out:
        wanted = fold(opt_out).rstrip(" \t\r\n.!")
        if not fold(out).rstrip(" \t\r\n.!").endswith(wanted):
            out = f"{out.rstrip()} {opt_out}"
    return out


@given(
    text=_FOLDABLE,
    label=st.sampled_from(["[QC]", "", "QC"]),
    opt_out=st.sampled_from(["Tu choi QC soan TC gui 9xxx", "", "TC"]),
)
def test_windowed_label_advertising_equals_the_reference(
    text: str, label: str, opt_out: str
) -> None:
    assert label_advertising(text, label=label, opt_out=opt_out) == _reference_label(
        text, label, opt_out
    )


@given(
    literals=st.lists(_FOLDABLE, min_size=1, max_size=3),
    data=st.data(),
    label=st.sampled_from(["[QC]", ""]),
    opt_out=st.sampled_from(["Tu choi QC 9xxx", ""]),
)
def test_compiled_labelling_equals_labelling_each_text(
    literals: list[str], data: st.DataObject, label: str, opt_out: str
) -> None:
    slots = tuple(f"v{i}" for i in range(len(literals) - 1))
    template = CompiledTemplate("", tuple(literals), slots)
    compiled = label_advertising_compiled(template, label=label, opt_out=opt_out)
    assume(compiled is not None)
    assert compiled is not None
    labelled, rest = compiled
    assert parse_template(labelled.text).literals == labelled.literals
    for _ in range(3):
        values = {s: data.draw(_FOLDABLE.filter(lambda v: v.strip() != ""), label=s) for s in slots}
        expected = label_advertising(template.render(values), label=label, opt_out=opt_out)
        got = labelled.render(values)
        if rest:
            got = label_advertising(got, label="", opt_out=rest)
        assert got == expected


@given(
    text=st.text(
        alphabet=st.characters(
            include_characters="ÀàĐđƯưỄễ\u0301\u0323ßﬁ…\u2002Ａ\u1100\u1161가ひ",
            categories=["Ll", "Lu", "Mn", "Zs", "Po"],
            max_codepoint=0x2070,
        )
    )
)
def test_strip_accents_table_equals_the_unicode_algorithm(text: str) -> None:
    reference = unicodedata.normalize(
        "NFC",
        "".join(
            ch
            for ch in unicodedata.normalize(
                "NFKD", text.translate(str.maketrans(dict(LATIN_BASE_LETTERS)))
            )
            if unicodedata.category(ch) not in ("Mn", "Mc", "Me")
        ),
    )
    assert strip_accents(text) == (text if text.isascii() else reference)
