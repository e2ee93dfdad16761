"""Orders by state from the `OrderUpdated` stream: live orders now, final states since start."""

from __future__ import annotations

from collections import Counter

from viper.domain import TERMINAL_ORDER_STATES, Order

MAX_LIVE = 100_000  # orders tracked at once; beyond it the oldest are forgotten


class OrderStates:
    """How many orders sit in each state.

    Orders still working (pending, submitted, open, partially filled) are counted where they
    are now; an order that reaches a final state moves to that state's running total, so
    memory holds only live orders.
    """

    def __init__(self, max_live: int = MAX_LIVE) -> None:
        self._live: dict[str, str] = {}
        self._final: Counter[str] = Counter()
        self._max_live = max_live

    def on_order(self, order: Order) -> None:
        cid = order.client_order_id
        if order.state in TERMINAL_ORDER_STATES:
            self._live.pop(cid, None)
            self._final[order.state] += 1
            return
        self._live[cid] = order.state
        if len(self._live) > self._max_live:
            del self._live[next(iter(self._live))]

    @property
    def tracked(self) -> int:
        """Orders counted, in every state."""
        return len(self._live) + sum(self._final.values())

    def counts(self) -> dict[str, int]:
        """State -> orders; states never seen are left out."""
        counts: Counter[str] = Counter(self._live.values())
        counts.update(self._final)
        return dict(sorted(counts.items()))
