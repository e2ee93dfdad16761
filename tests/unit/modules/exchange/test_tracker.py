"""Order tracking for a real exchange: each change reported once, fills derived from the change
in filled amount and average price, finished orders never reopened by a stale answer."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from viper.domain import ExchangeOrder, Fill
from viper.modules.exchange.tracker import OrderTracker, fill_between

D = Decimal
OPEN = ExchangeOrder(
    client_order_id="c1",
    symbol="BTC/USDT:USDT",
    side="buy",
    type="limit",
    amount=D("1.0"),
    status="open",
    exchange_order_id="9",
    price=D("100"),
)


def state(**changes: object) -> ExchangeOrder:
    return msgspec.structs.replace(OPEN, **changes)


def test_fill_price_comes_from_the_change_in_average() -> None:
    old = state(filled=D("0.4"), average_price=D("100"), fee=D("0.008"))
    new = state(filled=D("1.0"), average_price=D("99.4"), fee=D("0.02"), status="closed")

    fill = fill_between(old, new, "USDT")

    assert fill is not None
    assert (fill.amount, fill.price, fill.fee) == (D("0.6"), D("99"), D("0.012"))
    assert fill.fill_id == "9-1.0"


def test_no_fill_when_nothing_more_filled() -> None:
    assert fill_between(OPEN, state(status="canceled"), "USDT") is None


async def test_each_change_is_reported_once_and_stale_answers_are_ignored() -> None:
    got: list[tuple[ExchangeOrder, Fill | None]] = []

    async def report(order: ExchangeOrder, fill: Fill | None) -> None:
        got.append((order, fill))

    tracker = OrderTracker(report)
    await tracker.observe(OPEN)
    await tracker.observe(OPEN)
    done = state(status="closed", filled=D("1.0"), average_price=D("100"))
    await tracker.observe(done)
    kept = await tracker.observe(OPEN)  # an old list answer arriving late

    assert [(o.status, f is not None) for o, f in got] == [("open", False), ("closed", True)]
    assert kept == done and tracker.open() == []
