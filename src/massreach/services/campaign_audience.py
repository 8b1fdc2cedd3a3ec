"""A campaign's audience: figures and sample records before sending, and the changes
allowed while the campaign is a draft (add one by one, from the contacts table or a
file; edit; remove).

Rules kept here:

* every change is refused outside ``draft`` (:class:`InvalidTransition` naming the state);
* the same phone is never twice in a campaign, and a stored phone is never edited
  (:class:`ConflictError`); an email campaign also never gets the same email twice;
* a CRM-fed list (``ListFeed.crm``) stays CRM-fed: each of its records carries a CRM
  id, which cannot be changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
from attrs import field, frozen

from massreach.core.phones import PhoneNormalizer, is_valid_email
from massreach.core.roles import Action, Role
from massreach.errors import ConflictError, InvalidInput, NotFound, RowError
from massreach.model import Campaign, Contact, ContactDraft, ContactQuery, ContactUpdate, TagFigure
from massreach.model.contacts import ContactList, ListFeed
from massreach.model.fields import to_str_dict, to_tuple
from massreach.model.plans import ImportOptions, ImportPlan
from massreach.services.campaign_base import (
    CampaignBase,
    channel_field,
    checked_role,
    mask_target,
    target_of,
)
from massreach.services.rendering import MessageRenderer

__all__ = ["AddedContacts", "AudienceEditing", "AudienceRecord", "AudienceReport"]

#: Records shown by :meth:`AudienceEditing.audience` to check the variable mapping.
SAMPLE_RECORDS = 12
#: Contacts read per page when copying from the contacts table.
COPY_PAGE = 1000


@frozen
class AudienceRecord:
    """One audience record as shown before sending (phones masked)."""

    contact_id: int
    record: int
    target: str
    name: str | None
    tags: tuple[str, ...] = field(converter=to_tuple)
    variables: dict[str, str] = field(converter=to_str_dict)
    missing: tuple[str, ...] = field(default=(), converter=to_tuple)


@frozen
class AudienceReport:
    """Audience figures and the first records (of one tag, or of the whole audience)."""

    campaign: str
    channel: str
    total: int
    reachable: int
    tags: tuple[TagFigure, ...] = field(converter=to_tuple)
    records: tuple[AudienceRecord, ...] = field(converter=to_tuple)
    tag: str | None = None

    @property
    def tag_lines(self) -> list[str]:
        """Each tag as ``name (reachable/total)``."""
        return [f"{t.tag} ({t.reachable}/{t.total})" for t in self.tags]


@frozen
class AddedContacts:
    """What :meth:`AudienceEditing.add_from_contacts` did."""

    added: int
    duplicates: int
    without_target: int
    without_crm_id: int = 0


def _record(contact: Contact, campaign: Campaign, renderer: MessageRenderer) -> AudienceRecord:
    values = renderer.values(contact.variables())
    shown: dict[str, str] = {}
    missing: list[str] = []
    for name in renderer.variables:
        value = values.get(name)
        if not value or not value.strip():
            missing.append(name)
        else:
            shown[name] = mask_target(value) if value == contact.phone else value
    return AudienceRecord(
        contact_id=contact.id,
        record=contact.position,
        target=mask_target(target_of(contact, channel_field(campaign))),
        name=contact.name,
        tags=contact.tags,
        variables=shown,
        missing=tuple(missing),
    )


class AudienceEditing(CampaignBase):
    """Audience figures and draft-only audience changes (part of ``CampaignService``)."""

    # -- looking -----------------------------------------------------------------------
    def audience(
        self, name: str, *, tag: str | None = None, limit: int = SAMPLE_RECORDS
    ) -> AudienceReport:
        """Total, reachable audience, ``tag (reachable/total)`` for every tag, and the
        first ``limit`` reachable records (of ``tag`` when given) with their template
        variables after the source's variable map (phones masked)."""
        campaign = self.get(name)
        target = channel_field(campaign)
        figures = self.storage.audience_figures(campaign, channel_field=target)
        renderer = self.renderer(campaign)
        scoped = campaign
        if tag is not None:
            scoped = attrs.evolve(campaign, source=attrs.evolve(campaign.source, tags=(tag,)))
        first = self.storage.audience(scoped, channel_field=target, limit=max(limit, 0))
        return AudienceReport(
            campaign=campaign.name,
            channel=campaign.channel,
            total=figures.total,
            reachable=figures.reachable,
            tags=figures.tags,
            records=tuple(_record(c, campaign, renderer) for c in first),
            tag=tag,
        )

    # -- changing (draft only) ---------------------------------------------------------
    def _editable(self, name: str, role: Role | str, doing: str) -> tuple[Campaign, ContactList]:
        checked_role(role, Action.edit_campaign)
        campaign = self.get(name)
        self._require_draft(campaign, doing)
        return campaign, self._list_of(campaign)

    def _phone(self, raw: str) -> str:
        try:
            return PhoneNormalizer(self.default_region).normalize(raw)
        except RowError as exc:
            raise InvalidInput(exc.message, code=exc.code, details=exc.details) from None

    @staticmethod
    def _email(raw: str) -> str:
        text = raw.strip()
        if not is_valid_email(text):
            raise InvalidInput(
                f"{mask_target(text) or 'This'} is not a valid e-mail address.",
                code="email.invalid",
                details={"value": mask_target(text)},
            )
        return text

    def _find_in(self, contacts_list: ContactList, contact: int | str) -> Contact:
        """A contact of the list by id, phone or email; NotFound otherwise."""
        found: Contact | None = None
        if isinstance(contact, int):
            found = self.storage.get_contact(contact)
            if found is not None and found.list_id != contacts_list.id:
                found = None
        else:
            query = ContactQuery(list_id=contacts_list.id)
            if "@" in contact:
                query = query.evolve(email=contact.strip())
            else:
                query = query.evolve(phone=self._phone(contact))
            matches = self.storage.find_contacts(query, limit=1)
            found = matches[0] if matches else None
        if found is None:
            shown = contact if isinstance(contact, int) else mask_target(contact)
            raise NotFound(
                f"The campaign's list {contacts_list.name!r} has no contact {shown}.",
                code="contact.not_found",
                details={"contact": shown, "list": contacts_list.name},
            )
        return found

    def _refuse_duplicate(
        self,
        campaign: Campaign,
        contacts_list: ContactList,
        phone: str | None,
        email: str | None,
        contact_id: int = 0,
    ) -> None:
        checks: list[tuple[str, ContactQuery]] = []
        if phone is not None:
            checks.append(("phone", ContactQuery(list_id=contacts_list.id, phone=phone)))
        if email is not None and (campaign.channel == "email" or phone is None):
            checks.append(("email", ContactQuery(list_id=contacts_list.id, email=email)))
        for what, query in checks:
            if any(c.id != contact_id for c in self.storage.find_contacts(query, limit=2)):
                raise ConflictError(
                    f"This {what} is already in the campaign {campaign.name!r}; "
                    f"the same {what} is never added twice.",
                    code=f"campaign.duplicate_{what}",
                    details={
                        "campaign": campaign.name,
                        what: mask_target(phone if what == "phone" else email),
                    },
                )

    def add_contact(
        self,
        campaign: str,
        /,
        *,
        role: Role | str,
        phone: str | None = None,
        email: str | None = None,
        name: str | None = None,
        description: str | None = None,
        gender: str | None = None,
        crm_id: str | None = None,
        tags: Sequence[str] = (),
        fields: Mapping[str, str] | None = None,
    ) -> Contact:
        """Add one customer to a draft campaign's list (phone normalised to E.164)."""
        found, contacts_list = self._editable(campaign, role, "add customers")
        e164 = self._phone(phone) if phone else None
        address = self._email(email) if email else None
        values = dict(fields or {})
        draft = ContactDraft(
            list_id=contacts_list.id,
            phone=e164,
            email=address,
            name=name,
            description=description,
            gender=gender,
            crm_id=crm_id,
            tags=tuple(tags),
            fields=values,
        )
        target = channel_field(found)
        missing_target = target_of(draft, target) is None
        if missing_target:
            raise InvalidInput(
                f"A customer of the {found.channel} campaign {found.name!r} needs a {target}.",
                code="contact.target_required",
                details={"campaign": found.name, "field": target},
            )
        if contacts_list.feed is ListFeed.crm and not crm_id:
            raise InvalidInput(
                f"The campaign {found.name!r} is fed from the CRM: every customer needs a CRM id.",
                code="campaign.crm_id_required",
                details={"campaign": found.name},
            )
        self._refuse_duplicate(found, contacts_list, e164, address)
        (contact_id,) = self.storage.add_contacts([draft], now=self.context.now())
        return self._find_in(contacts_list, contact_id)

    def add_from_contacts(
        self, campaign: str, query: ContactQuery, *, role: Role | str
    ) -> AddedContacts:
        """Copy the contacts matching ``query`` (any list unless it names one) into a
        draft campaign's list, in pages. Skipped: a phone already there (or, without
        a phone, the same email), contacts without the channel's target, and for a
        CRM-fed campaign contacts without a CRM id."""
        found, contacts_list = self._editable(campaign, role, "add customers")
        target = channel_field(found)
        crm = contacts_list.feed is ListFeed.crm
        added = duplicates = without_target = without_crm = 0
        after = 0
        while True:
            page = self.storage.find_contacts(query, limit=COPY_PAGE, after_id=after)
            if not page:
                break
            after = page[-1].id
            existing = self.storage.find_contacts_by_keys(
                phones=[c.phone for c in page if c.phone],
                emails=[c.email for c in page if c.email and not c.phone],
                crm_ids=[],
            )
            seen = {c.phone for c in existing if c.list_id == contacts_list.id and c.phone}
            seen_mail = {
                c.email.casefold()
                for c in existing
                if c.list_id == contacts_list.id and c.email and not c.phone
            }
            drafts: list[ContactDraft] = []
            for c in page:
                if target_of(c, target) is None:
                    without_target += 1
                    continue
                if crm and not c.crm_id:
                    without_crm += 1
                    continue
                key = c.phone or (c.email or "").casefold()
                if key in seen or key in seen_mail:
                    duplicates += 1
                    continue
                (seen if c.phone else seen_mail).add(key)
                drafts.append(
                    ContactDraft(
                        list_id=contacts_list.id,
                        phone=c.phone,
                        email=c.email,
                        name=c.name,
                        description=c.description,
                        gender=c.gender,
                        crm_id=c.crm_id,
                        tags=c.tags,
                        fields=c.fields,
                    )
                )
            if drafts:
                self.storage.add_contacts(drafts, now=self.context.now())
                added += len(drafts)
        return AddedContacts(added, duplicates, without_target, without_crm)

    def edit_contact(
        self,
        campaign: str,
        /,
        contact: int | str,
        *,
        role: Role | str,
        phone: str | None = None,
        email: str | None = None,
        name: str | None = None,
        description: str | None = None,
        gender: str | None = None,
        crm_id: str | None = None,
        add_tags: Sequence[str] = (),
        fields: Mapping[str, str] | None = None,
    ) -> Contact:
        """Change a customer of a draft campaign (by id, phone or email). The phone
        cannot change (:class:`ConflictError`); nor can a CRM-fed record's CRM id."""
        found, contacts_list = self._editable(campaign, role, "edit customers")
        stored = self._find_in(contacts_list, contact)
        if phone is not None and self._phone(phone) != stored.phone:
            raise ConflictError(
                "A customer's phone number cannot be edited; remove the customer and add "
                "the new number instead.",
                code="contact.phone_immutable",
                details={"contact_id": stored.id, "phone": mask_target(stored.phone)},
            )
        if contacts_list.feed is ListFeed.crm and crm_id is not None and crm_id != stored.crm_id:
            raise ConflictError(
                "The CRM id of a record of a CRM-fed campaign cannot be edited.",
                code="contact.crm_id_immutable",
                details={"contact_id": stored.id},
            )
        address = self._email(email) if email else None
        if address is not None and address.casefold() != (stored.email or "").casefold():
            self._refuse_duplicate(found, contacts_list, None, address, stored.id)
        self.storage.update_contacts(
            [
                ContactUpdate(
                    contact_id=stored.id,
                    email=address,
                    name=name,
                    description=description,
                    gender=gender,
                    crm_id=crm_id,
                    add_tags=tuple(add_tags),
                    fields=dict(fields or {}),
                )
            ],
            now=self.context.now(),
        )
        return self._find_in(contacts_list, stored.id)

    def remove_contact(self, campaign: str, /, contact: int | str, *, role: Role | str) -> Contact:
        """Remove a customer (by id, phone or email) from a draft campaign; returns it."""
        _, contacts_list = self._editable(campaign, role, "remove customers")
        stored = self._find_in(contacts_list, contact)
        self.storage.delete_contacts([stored.id])
        return stored

    def import_file(
        self,
        campaign: str,
        path: Path | str,
        *,
        role: Role | str,
        options: ImportOptions | None = None,
        user: str | None = None,
    ) -> ImportPlan:
        """Import a file into a draft campaign's list now (an import plan run to the end)."""
        checked_role(role, Action.import_list)
        _, contacts_list = self._editable(campaign, role, "import customers")
        from massreach.services.imports import ImportService

        return ImportService(self.context).import_file(
            path, list_name=contacts_list.name, options=options, creator=user
        )
