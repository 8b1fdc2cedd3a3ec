"""Roles and permissions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.core.roles import (
    MINIMUM_ROLE,
    Action,
    Role,
    allows,
    check,
    parse_role,
    permitted_actions,
)
from massreach.errors import InvalidInput, PermissionDenied

ORDER = [Role.agent, Role.supervisor, Role.manager, Role.admin]


def test_every_action_has_a_minimum_role() -> None:
    assert set(MINIMUM_ROLE) == set(Action)


def test_agent_only_views_and_marks_own_records() -> None:
    assert permitted_actions(Role.agent) == {Action.view_campaigns, Action.mark_own_records}


def test_supervisor_creates_and_edits_but_does_not_send() -> None:
    check(Role.supervisor, Action.create_campaign)
    check(Role.supervisor, Action.edit_campaign)
    with pytest.raises(PermissionDenied) as info:
        check(Role.supervisor, Action.send_campaign)
    err = info.value
    assert err.code == "permission.denied"
    assert err.details["action"] == "send_campaign"
    assert err.details["role"] == "supervisor"
    assert "supervisor may not send campaigns" in str(err)
    assert "manager or admin" in str(err)


@pytest.mark.parametrize("role", [Role.manager, Role.admin])
def test_manager_and_admin_send(role: Role) -> None:
    check(role, Action.send_campaign)
    check(role, Action.cancel_campaign)


def test_only_admin_unmasks_phones() -> None:
    assert [r for r in Role if allows(r, Action.unmask_phones)] == [Role.admin]
    with pytest.raises(PermissionDenied) as info:
        check(Role.manager, Action.unmask_phones)
    assert str(info.value) == "A manager may not see unmasked phone numbers; an admin may."


def test_agent_message_uses_an() -> None:
    with pytest.raises(PermissionDenied) as info:
        check(Role.agent, Action.create_campaign)
    assert str(info.value).startswith("An agent may not create campaigns")


@given(st.sampled_from(Role), st.sampled_from(Action))
def test_permissions_grow_with_rank(role: Role, action: Action) -> None:
    if allows(role, action):
        for higher in ORDER[ORDER.index(role) :]:
            assert allows(higher, action)
    else:
        with pytest.raises(PermissionDenied) as info:
            check(role, action)
        assert info.value.details == {
            "action": action.value,
            "role": role.value,
            "required": MINIMUM_ROLE[action].value,
        }
        assert role.value in str(info.value)


def test_admin_may_do_everything() -> None:
    assert permitted_actions(Role.admin) == set(Action)


@pytest.mark.parametrize("text", ["manager", " Manager ", "MANAGER"])
def test_parse_role(text: str) -> None:
    assert parse_role(text) is Role.manager


def test_parse_role_refuses_unknown() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_role("boss")
    assert info.value.code == "role.unknown"
    assert "'boss'" in str(info.value)
    assert info.value.details["allowed"] == ["agent", "supervisor", "manager", "admin"]
