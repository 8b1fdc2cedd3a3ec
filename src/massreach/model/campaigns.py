"""Templates and campaigns (bulk SMS and email sends)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from attrs import field, frozen, validators

from massreach.core.lifecycle import CampaignKind, CampaignState
from massreach.model.fields import aware, to_str_dict, to_tuple

ChannelName = Literal["sms", "email"]
_CHANNELS = ("sms", "email")


@frozen
class Template:
    """A message template. SMS uses ``body``; email uses ``subject``, ``body`` and ``html``.

    A template registered with an SMS gateway for customer-care messages has
    ``registered=True`` and its ``brandname``.
    """

    name: str = field(validator=validators.min_len(1))
    channel: ChannelName = field(validator=validators.in_(_CHANNELS))
    body: str
    subject: str | None = None
    html: str | None = None
    registered: bool = False
    brandname: str | None = None
    created_at: datetime | None = field(default=None, converter=aware)


@frozen
class CampaignSource:
    """Where a campaign's audience comes from.

    ``list_id`` set: that imported list. ``list_id`` None: the whole contacts table,
    with ``target_field`` naming which field is the target (``phone``, ``email``
    or a custom field) and ``variable_map`` naming which contact field fills which
    template variable (``{"param0": "name"}``).
    """

    list_id: int | None = None
    tags: tuple[str, ...] = field(default=(), converter=to_tuple)
    target_field: str | None = None
    variable_map: dict[str, str] = field(factory=dict, converter=to_str_dict)


@frozen
class Campaign:
    """One bulk send: channel, kind, template, audience, schedule and who did what."""

    id: int
    name: str = field(validator=validators.min_len(1))
    channel: ChannelName = field(validator=validators.in_(_CHANNELS))
    kind: CampaignKind = field(converter=CampaignKind)
    template: str
    source: CampaignSource = field(factory=CampaignSource)
    state: CampaignState = field(default=CampaignState.draft, converter=CampaignState)
    brandname: str | None = None
    account: str | None = None
    transliterate: bool = False
    scheduled_at: datetime | None = field(default=None, converter=aware)
    created_by: str | None = None
    sent_by: str | None = None
    created_at: datetime | None = field(default=None, converter=aware)
    updated_at: datetime | None = field(default=None, converter=aware)


@frozen
class TagFigure:
    """One tag of an audience: ``name (reachable/total)``."""

    tag: str
    reachable: int
    total: int


@frozen
class AudienceFigures:
    """Audience figures before sending: the source's total and each tag's figures."""

    total: int
    reachable: int
    tags: tuple[TagFigure, ...] = field(default=(), converter=to_tuple)
