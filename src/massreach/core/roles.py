"""Roles and what each may do.

A host product maps its own users to four roles, ordered by trust:
``agent < supervisor < manager < admin``. Every action has the lowest role that
may perform it, and every higher role may too:

* agent: view campaigns and mark their own records;
* supervisor: also create and edit campaigns and templates, import lists,
  distribute records and pause a running campaign, but **not** send, resume
  or cancel one;
* manager: also send, resume and cancel campaigns and manage agents;
* admin: also see unmasked phone numbers and manage sending accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from massreach.errors import InvalidInput, PermissionDenied

__all__ = [
    "MINIMUM_ROLE",
    "Action",
    "Role",
    "allows",
    "check",
    "parse_role",
    "permitted_actions",
]


class Role(StrEnum):
    """A user's role, from least to most trusted."""

    agent = "agent"
    supervisor = "supervisor"
    manager = "manager"
    admin = "admin"


class Action(StrEnum):
    """Something a user asks massreach to do that not every role may do."""

    view_campaigns = "view_campaigns"
    mark_own_records = "mark_own_records"
    create_campaign = "create_campaign"
    edit_campaign = "edit_campaign"
    manage_templates = "manage_templates"
    import_list = "import_list"
    distribute = "distribute"
    pause_campaign = "pause_campaign"
    send_campaign = "send_campaign"
    resume_campaign = "resume_campaign"
    cancel_campaign = "cancel_campaign"
    manage_agents = "manage_agents"
    unmask_phones = "unmask_phones"
    manage_accounts = "manage_accounts"


_RANK: Mapping[Role, int] = MappingProxyType({role: i for i, role in enumerate(Role)})

#: The least trusted role that may perform each action.
MINIMUM_ROLE: Mapping[Action, Role] = MappingProxyType(
    {
        Action.view_campaigns: Role.agent,
        Action.mark_own_records: Role.agent,
        Action.create_campaign: Role.supervisor,
        Action.edit_campaign: Role.supervisor,
        Action.manage_templates: Role.supervisor,
        Action.import_list: Role.supervisor,
        Action.distribute: Role.supervisor,
        Action.pause_campaign: Role.supervisor,
        Action.send_campaign: Role.manager,
        Action.resume_campaign: Role.manager,
        Action.cancel_campaign: Role.manager,
        Action.manage_agents: Role.manager,
        Action.unmask_phones: Role.admin,
        Action.manage_accounts: Role.admin,
    }
)

_PHRASE: Mapping[Action, str] = MappingProxyType(
    {
        Action.view_campaigns: "view campaigns",
        Action.mark_own_records: "mark their own records",
        Action.create_campaign: "create campaigns",
        Action.edit_campaign: "edit campaigns",
        Action.manage_templates: "manage templates",
        Action.import_list: "import lists",
        Action.distribute: "distribute records to agents",
        Action.pause_campaign: "pause campaigns",
        Action.send_campaign: "send campaigns",
        Action.resume_campaign: "resume campaigns",
        Action.cancel_campaign: "cancel campaigns",
        Action.manage_agents: "manage agents",
        Action.unmask_phones: "see unmasked phone numbers",
        Action.manage_accounts: "manage sending accounts",
    }
)


def _article(role: Role) -> str:
    return "an" if role.value[0] in "aeiou" else "a"


def allows(role: Role, action: Action) -> bool:
    """True when ``role`` may perform ``action``."""
    return _RANK[Role(role)] >= _RANK[MINIMUM_ROLE[Action(action)]]


def permitted_actions(role: Role) -> frozenset[Action]:
    """Every action ``role`` may perform."""
    return frozenset(a for a in Action if allows(role, a))


def check(role: Role, action: Action) -> None:
    """Return if ``role`` may perform ``action``; raise :class:`PermissionDenied` if not.

    The error has code ``permission.denied``, details ``action``, ``role`` and
    ``required`` (the least role that may), and a message naming both, e.g.
    "A supervisor may not send campaigns; a manager or admin may."
    """
    who = Role(role)
    what = Action(action)
    if allows(who, what):
        return
    needed = MINIMUM_ROLE[what]
    higher = [r.value for r in Role if _RANK[r] >= _RANK[needed]]
    who_may = higher[0] if len(higher) == 1 else ", ".join(higher[:-1]) + " or " + higher[-1]
    raise PermissionDenied(
        f"{_article(who).capitalize()} {who.value} may not {_PHRASE[what]}; "
        f"{_article(needed)} {who_may} may.",
        code="permission.denied",
        details={"action": what.value, "role": who.value, "required": needed.value},
    )


def parse_role(text: str) -> Role:
    """A role from user input (case-insensitive, surrounding spaces ignored).

    Raises :class:`InvalidInput` (code ``role.unknown``) naming the roles there are.
    """
    try:
        return Role(text.strip().casefold())
    except ValueError:
        allowed = [r.value for r in Role]
        raise InvalidInput(
            f"Unknown role {text!r}; use one of: {', '.join(allowed)}.",
            code="role.unknown",
            details={"value": text, "allowed": allowed},
        ) from None
