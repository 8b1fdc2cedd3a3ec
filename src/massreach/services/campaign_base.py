"""What the campaign use cases share: finding campaigns, templates and lists, role
checks, the draft rule, and state moves that tell plugins.

:class:`~massreach.services.campaigns.CampaignService` is assembled from the parts
built on :class:`CampaignBase` (audience editing, preview, the lifecycle).
"""

from __future__ import annotations

from typing import Any, cast

import attrs

from massreach.core.lifecycle import CampaignAction, CampaignState, can_edit_audience, transition
from massreach.core.masking import mask_email, mask_phone
from massreach.core.roles import Action, Role, check, parse_role
from massreach.errors import InvalidInput, InvalidTransition, NotFound, TemplateError
from massreach.model import Campaign, Contact, ContactDraft, Template
from massreach.model.campaigns import ChannelName
from massreach.model.contacts import ContactList
from massreach.services.context import ServiceContext
from massreach.services.rendering import MessageRenderer, renderer_for

__all__ = [
    "CampaignBase",
    "channel_field",
    "checked_channel",
    "checked_role",
    "contact_label",
    "mask_target",
    "render_error",
    "target_of",
]

#: Default target field of each channel.
DEFAULT_TARGET = {"sms": "phone", "email": "email"}


def channel_field(campaign: Campaign) -> str:
    """The contact field holding a campaign's targets (phone, email or a custom field)."""
    return campaign.source.target_field or DEFAULT_TARGET[campaign.channel]


def checked_channel(channel: str) -> ChannelName:
    """``channel`` if it is ``sms`` or ``email``; InvalidInput otherwise."""
    if channel not in ("sms", "email"):
        raise InvalidInput(
            f"Unknown channel {channel!r}; use 'sms' or 'email'.",
            code="campaign.unknown_channel",
            details={"value": channel, "allowed": list(DEFAULT_TARGET)},
        )
    return cast(ChannelName, channel)


def mask_target(value: str | None) -> str:
    """A target for screens and errors: phones as ``091****678``, emails as ``j***@x.com``."""
    if not value:
        return ""
    return mask_email(value) if "@" in value else mask_phone(value)


def checked_role(role: Role | str, action: Action) -> Role:
    """``role`` parsed; :class:`PermissionDenied` naming action and role unless allowed."""
    parsed = role if isinstance(role, Role) else parse_role(role)
    check(parsed, action)
    return parsed


#: Contact attributes a campaign may use as its target; any other name is a custom field.
TARGET_ATTRIBUTES = ("phone", "email", "name", "description", "gender", "crm_id")


def target_of(contact: Contact | ContactDraft, field_name: str) -> str | None:
    """The value of a contact's target field (an attribute or a custom field), or None."""
    if field_name in TARGET_ATTRIBUTES:
        value: str | None = getattr(contact, field_name)
    else:
        value = contact.fields.get(field_name)
    return value or None


def contact_label(contact: Contact, field_name: str) -> str:
    """How a contact is named in messages: record number and masked target."""
    value = target_of(contact, field_name) or contact.phone or contact.email
    return f"record {contact.position} ({mask_target(value) or f'id {contact.id}'})"


def render_error(error: TemplateError, contact: Contact, campaign: Campaign) -> TemplateError:
    """``error`` naming the contact it happened with (record number, masked target)."""
    label = contact_label(contact, channel_field(campaign))
    return TemplateError(
        f"{label}: {error.message}",
        code=error.code,
        details={
            **error.details,
            "contact_id": contact.id,
            "record": contact.position,
            "contact": label,
        },
    )


class CampaignBase:
    """Storage access and rules shared by every part of the campaign service."""

    #: Region for phone numbers written without a country code.
    default_region = "VN"

    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.storage = context.storage

    # -- lookups ---------------------------------------------------------------------
    def get(self, name: str) -> Campaign:
        """The campaign named ``name``; :class:`NotFound` if there is none."""
        campaign = self.storage.get_campaign(name)
        if campaign is None:
            raise NotFound(
                f"There is no campaign named {name!r}.",
                code="campaign.not_found",
                details={"name": name},
            )
        return campaign

    def template(self, name: str) -> Template:
        """The template named ``name``; :class:`NotFound` if there is none."""
        template = self.storage.get_template(name)
        if template is None:
            raise NotFound(
                f"There is no template named {name!r}; add it first (template add).",
                code="template.not_found",
                details={"name": name},
            )
        return template

    def renderer(self, campaign: Campaign) -> MessageRenderer:
        """The compiled renderer of a campaign's messages (see :mod:`.rendering`)."""
        return renderer_for(campaign, self.template(campaign.template))

    def _list_of(self, campaign: Campaign) -> ContactList:
        """The list a campaign's audience lives in; InvalidInput for a contacts-table source."""
        list_id = campaign.source.list_id
        if list_id is None:
            raise InvalidInput(
                f"The campaign {campaign.name!r} sends to the contacts table, not to a list "
                "of its own; edit the contacts themselves.",
                code="campaign.no_list",
                details={"campaign": campaign.name},
            )
        found = self.storage.get_list_by_id(list_id)
        if found is None:
            raise NotFound(
                f"The list of the campaign {campaign.name!r} no longer exists.",
                code="list.not_found",
                details={"list_id": list_id},
            )
        return found

    # -- rules -------------------------------------------------------------------------
    @staticmethod
    def _require_draft(campaign: Campaign, doing: str) -> None:
        """InvalidTransition naming the state unless the campaign is still a draft."""
        if can_edit_audience(campaign.state):
            return
        raise InvalidTransition(
            f"Cannot {doing}: the campaign {campaign.name!r} is {campaign.state.value}; "
            "a campaign can be changed only while it is a draft.",
            code="campaign.not_draft",
            details={"campaign": campaign.name, "state": campaign.state.value, "action": doing},
        )

    def _move(self, campaign: Campaign, action: CampaignAction, **changes: Any) -> Campaign:
        """Apply a lifecycle action (InvalidTransition if it makes no sense), save the
        campaign and tell plugins when its state changed."""
        previous = campaign.state
        state = transition(previous, action)
        moved: Campaign = attrs.evolve(
            campaign, state=state, updated_at=self.context.now(), **changes
        )
        self.storage.save_campaign(moved)
        if state is not previous:
            self.context.hooks.campaign_state_changed(moved, previous.value)
        return moved

    @staticmethod
    def _is(campaign: Campaign, state: CampaignState) -> bool:
        return CampaignState(campaign.state) is state
