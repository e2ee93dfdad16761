"""The order state machine: allowed steps, refusals, and what exchange reports mean."""

from __future__ import annotations

from decimal import Decimal

import pytest

from viper.domain import TERMINAL_ORDER_STATES
from viper.modules.order.states import (
    ALLOWED,
    can_transition,
    is_terminal,
    path,
    state_of,
    target_from,
)

LISTED = {
    ("pending", "submitted"),
    ("pending", "rejected"),
    ("submitted", "open"),
    ("submitted", "rejected"),
    ("submitted", "filled"),
    ("submitted", "cancelled"),
    ("open", "partially_filled"),
    ("open", "filled"),
    ("open", "cancelled"),
    ("open", "expired"),
    ("partially_filled", "filled"),
    ("partially_filled", "cancelled"),
    ("partially_filled", "expired"),
}


def test_allows_exactly_the_listed_transitions() -> None:
    allowed = {(old, new) for old, targets in ALLOWED.items() for new in targets}
    assert allowed == LISTED


@pytest.mark.parametrize("state", sorted(TERMINAL_ORDER_STATES))
def test_terminal_states_go_nowhere(state: str) -> None:
    assert is_terminal(state)
    assert all(not can_transition(state, new) for new in ALLOWED)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("old", "new"),
    [("filled", "open"), ("cancelled", "filled"), ("pending", "filled"), ("open", "submitted")],
)
def test_refuses_steps_not_listed(old: str, new: str) -> None:
    assert not can_transition(old, new)  # type: ignore[arg-type]


def test_path_walks_through_allowed_steps() -> None:
    assert path("submitted", "partially_filled") == ["open", "partially_filled"]
    assert path("pending", "filled") == ["submitted", "filled"]
    assert path("open", "open") == []
    assert path("submitted", "expired") == ["open", "expired"]


def test_path_is_none_when_unreachable() -> None:
    assert path("filled", "open") is None
    assert path("partially_filled", "open") is None
    assert path("cancelled", "filled") is None


@pytest.mark.parametrize(
    ("status", "filled", "expected"),
    [
        ("open", "0", "open"),
        ("open", "0.4", "partially_filled"),
        ("open", "1", "filled"),
        ("closed", "1", "filled"),
        ("canceled", "0.4", "cancelled"),
        ("rejected", "0", "rejected"),
        ("expired", "0", "expired"),
    ],
)
def test_maps_exchange_status_to_state(status: str, filled: str, expected: str) -> None:
    assert state_of(status, Decimal(filled), Decimal(1)) == expected  # type: ignore[arg-type]


def test_a_rejection_after_acceptance_is_recorded_as_cancelled() -> None:
    assert target_from("submitted", "rejected") == "rejected"
    assert target_from("open", "rejected") == "cancelled"
