"""The campaign lifecycle: the transition table, refusals, and reachability of an end."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from massreach.core.lifecycle import (
    TERMINAL_STATES,
    CampaignAction,
    CampaignKind,
    CampaignState,
    allowed_actions,
    can_edit_audience,
    is_terminal,
    parse_kind,
    parse_state,
    transition,
)
from massreach.errors import InvalidInput, InvalidTransition

S = CampaignState
A = CampaignAction

VALID = [
    (S.draft, A.schedule, S.scheduled),
    (S.draft, A.start, S.sending),
    (S.draft, A.cancel, S.cancelled),
    (S.scheduled, A.schedule, S.scheduled),
    (S.scheduled, A.unschedule, S.draft),
    (S.scheduled, A.start, S.sending),
    (S.scheduled, A.cancel, S.cancelled),
    (S.sending, A.pause, S.paused),
    (S.sending, A.complete, S.completed),
    (S.sending, A.cancel, S.cancelled),
    (S.paused, A.resume, S.sending),
    (S.paused, A.cancel, S.cancelled),
]


@pytest.mark.parametrize(("state", "action", "expected"), VALID)
def test_valid_transitions(state: S, action: A, expected: S) -> None:
    assert transition(state, action) is expected


def test_every_other_pair_is_refused() -> None:
    valid = {(s, a) for s, a, _ in VALID}
    for state in S:
        for action in A:
            if (state, action) in valid:
                continue
            with pytest.raises(InvalidTransition) as info:
                transition(state, action)
            assert info.value.code == "campaign.invalid_transition"
            assert info.value.details["state"] == state.value
            assert info.value.details["action"] == action.value


def test_refusal_message_is_for_an_admin() -> None:
    with pytest.raises(InvalidTransition) as info:
        transition(S.draft, A.pause)
    message = str(info.value)
    assert "Cannot pause a campaign that is still a draft" in message
    assert "start sending" in message
    assert info.value.details["allowed"] == ["schedule", "start", "cancel"]

    with pytest.raises(InvalidTransition) as info:
        transition(S.completed, A.cancel)
    assert "already completed" in str(info.value)
    assert "nothing more" in str(info.value)
    assert info.value.details["allowed"] == []


def test_strings_are_accepted() -> None:
    assert transition("draft", "start") is S.sending  # type: ignore[arg-type]
    assert isinstance(S.draft, str)
    assert S.draft == "draft"


def test_terminal_states() -> None:
    assert {S.completed, S.cancelled} == TERMINAL_STATES
    for state in S:
        assert is_terminal(state) == (state in TERMINAL_STATES)
        assert (allowed_actions(state) == ()) == is_terminal(state)


def test_audience_editable_only_in_draft() -> None:
    assert [s for s in S if can_edit_audience(s)] == [S.draft]


def test_parse_state() -> None:
    assert parse_state(" Sending ") is S.sending
    with pytest.raises(InvalidInput) as info:
        parse_state("running")
    assert info.value.code == "campaign.unknown_state"
    assert "draft" in str(info.value)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("care", CampaignKind.care),
        ("CSKH", CampaignKind.care),
        ("ads", CampaignKind.ads),
        ("QC", CampaignKind.ads),
        ("advertising", CampaignKind.ads),
    ],
)
def test_parse_kind(text: str, kind: CampaignKind) -> None:
    assert parse_kind(text) is kind


def test_parse_kind_refuses_unknown() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_kind("promo")
    assert info.value.code == "campaign.unknown_kind"


def _reachable(start: S) -> set[S]:
    seen = {start}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for action in allowed_actions(state):
            nxt = transition(state, action)
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


class CampaignLifecycle(RuleBasedStateMachine):
    """Any sequence of actions, valid or not, keeps an end reachable."""

    def __init__(self) -> None:
        super().__init__()
        self.state = S.draft

    @rule(action=st.sampled_from(A))
    def act(self, action: A) -> None:
        before = self.state
        try:
            self.state = transition(before, action)
        except InvalidTransition as exc:
            assert action not in allowed_actions(before)
            assert exc.code == "campaign.invalid_transition"
        else:
            assert action in allowed_actions(before)

    @invariant()
    def an_end_stays_reachable(self) -> None:
        if is_terminal(self.state):
            for action in A:
                with pytest.raises(InvalidTransition):
                    transition(self.state, action)
        else:
            reachable = _reachable(self.state)
            assert S.completed in reachable
            assert S.cancelled in reachable


TestCampaignLifecycle = CampaignLifecycle.TestCase
