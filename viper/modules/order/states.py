"""The order state machine: which transitions are allowed, and what an exchange report means.

pending -> submitted -> open -> partially_filled -> filled | cancelled | rejected | expired.
A transition not in `ALLOWED` is refused (logged, never executed); `path` finds the chain of
allowed steps that leads to a reported state, so each step is journaled and published.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import Decimal

from viper.domain import TERMINAL_ORDER_STATES, ExchangeOrderStatus, OrderState

ALLOWED: Mapping[OrderState, frozenset[OrderState]] = {
    "pending": frozenset({"submitted", "rejected"}),
    "submitted": frozenset({"open", "rejected", "filled", "cancelled"}),
    "open": frozenset({"partially_filled", "filled", "cancelled", "expired"}),
    "partially_filled": frozenset({"filled", "cancelled", "expired"}),
    "filled": frozenset(),
    "cancelled": frozenset(),
    "rejected": frozenset(),
    "expired": frozenset(),
}


def is_terminal(state: str) -> bool:
    """True for filled, cancelled, rejected and expired."""
    return state in TERMINAL_ORDER_STATES


def can_transition(old: OrderState, new: OrderState) -> bool:
    """True when `old -> new` is one allowed step."""
    return new in ALLOWED[old]


def path(old: OrderState, new: OrderState) -> list[OrderState] | None:
    """The shortest chain of allowed steps from `old` to `new` (excluding `old`).

    `[]` when already there; None when `new` cannot be reached (a refused transition).
    """
    if old == new:
        return []
    previous: dict[OrderState, OrderState] = {}
    queue: deque[OrderState] = deque([old])
    while queue:
        state = queue.popleft()
        for step in sorted(ALLOWED[state]):
            if step in previous or step == old:
                continue
            previous[step] = state
            if step == new:
                chain = [step]
                while chain[-1] in previous and previous[chain[-1]] != old:
                    chain.append(previous[chain[-1]])
                return list(reversed(chain))
            queue.append(step)
    return None


def state_of(status: ExchangeOrderStatus, filled: Decimal, amount: Decimal) -> OrderState:
    """The journal state an exchange status stands for, given how much is filled."""
    match status:
        case "closed":
            return "filled"
        case "canceled":
            return "cancelled"
        case "rejected":
            return "rejected"
        case "expired":
            return "expired"
        case _:
            if filled >= amount:
                return "filled"
            return "partially_filled" if filled > Decimal(0) else "open"


def target_from(current: OrderState, reported: OrderState) -> OrderState:
    """Where a report moves an order in `current`, bending impossible asks to the nearest fit.

    An exchange that accepted an order and then refuses it (a post-only that would cross)
    reports `rejected`; once open, the journal records that as `cancelled`.
    """
    if reported == "rejected" and path(current, "rejected") is None:
        return "cancelled"
    return reported
