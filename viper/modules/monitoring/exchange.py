"""Exchange latency, errors and connection state, from what the order flow publishes.

An order's latency is the time from its `OrderRequest` to the exchange's first report on it
(`ExecutionReported`), both seen on the bus. The exchange module may also report every API
call through `ExchangeCallObserver`; both land in the same figures.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable

from viper.clock import Clock
from viper.domain import ExchangeOrder

MAX_PENDING = 10_000  # requests awaiting their first report; beyond it the oldest are dropped
ORDER_ACK = "order_ack"  # the action label of request-to-first-report latency

Observe = Callable[[str, str, float], None]  # (exchange, action, seconds)


class ExchangeStats:
    """Latency observations, error counts by exchange and kind, and who is connected."""

    def __init__(self, clock: Clock, observe: Observe, max_pending: int = MAX_PENDING) -> None:
        self._clock = clock
        self._observe = observe
        self._max_pending = max_pending
        self._pending: OrderedDict[str, float] = OrderedDict()
        self.errors: Counter[tuple[str, str]] = Counter()
        self.connected: dict[str, bool] = {}

    def on_request(self, client_order_id: str) -> None:
        """An order was approved and goes to the exchange now."""
        self._pending[client_order_id] = self._clock.monotonic()
        if len(self._pending) > self._max_pending:
            self._pending.popitem(last=False)

    def on_report(self, exchange: str, order: ExchangeOrder) -> None:
        """The exchange reported on an order: its first report ends the order's latency."""
        sent = self._pending.pop(order.client_order_id, None)
        if sent is not None:
            self._observe(exchange, ORDER_ACK, max(0.0, self._clock.monotonic() - sent))
        if order.status == "rejected":
            self.errors[(exchange, "order_rejected")] += 1

    def on_connection(self, exchange: str, connected: bool) -> None:
        if not connected and self.connected.get(exchange, True):
            self.errors[(exchange, "disconnected")] += 1
        self.connected[exchange] = connected

    def observe_call(self, exchange: str, action: str, seconds: float, error: str = "") -> None:
        """ExchangeCallObserver: one API call, and its error code when it failed."""
        self._observe(exchange, action, max(0.0, seconds))
        if error:
            self.errors[(exchange, error)] += 1
