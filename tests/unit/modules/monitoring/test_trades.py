"""Closed trades, wins and orders by state, from the position and order streams."""

from __future__ import annotations

from decimal import Decimal

from viper.domain import Direction, Order, OrderState, Position
from viper.modules.monitoring.orders import OrderStates
from viper.modules.monitoring.trades import TradeStats

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def position(symbol: str, direction: Direction, size: str, realized: str) -> Position:
    return Position(
        symbol=symbol,
        direction=direction,
        size=Decimal(size),
        entry_price=Decimal(100),
        realized_pnl=Decimal(realized),
    )


def order(cid: str, state: OrderState) -> Order:
    return Order(
        client_order_id=cid, symbol=BTC, side="buy", type="market", amount=Decimal(1), state=state
    )


def test_a_trade_is_counted_when_a_position_closes_with_its_own_pnl() -> None:
    stats = TradeStats()
    stats.on_position(position(BTC, "long", "1", "5"))  # earlier trades realized 5
    stats.on_position(position(BTC, "long", "2", "5"))
    stats.on_position(position(BTC, "long", "1", "7"))  # partial close: still open
    assert stats.total == 0
    stats.on_position(position(BTC, "long", "0", "8"))
    assert stats.trades == {(BTC, "buy"): 1}
    assert stats.wins == 1 and stats.realized_pnl == 3.0


def test_a_losing_short_counts_as_a_sell_trade_and_lowers_the_win_rate() -> None:
    stats = TradeStats()
    assert stats.win_rate is None
    stats.on_position(position(ETH, "short", "3", "0"))
    stats.on_position(position(ETH, "long", "0", "-2"))  # flat books say "long" with size 0
    stats.on_position(position(BTC, "long", "1", "0"))
    stats.on_position(position(BTC, "long", "0", "4"))
    assert stats.trades == {(ETH, "sell"): 1, (BTC, "buy"): 1}
    assert stats.win_rate == 0.5
    counts = stats.counts()
    assert counts.total == 2 and counts.wins == 1 and counts.losses == 1
    assert counts.by_symbol == {BTC: {"buy": 1}, ETH: {"sell": 1}}
    assert counts.realized_pnl == 2.0


def test_a_flip_closes_one_trade_and_opens_the_next_from_the_pnl_it_realized() -> None:
    stats = TradeStats()
    stats.on_position(position(BTC, "long", "1", "0"))
    stats.on_position(position(BTC, "short", "1", "-1"))  # sold 2: long closed at a loss
    stats.on_position(position(BTC, "long", "0", "2"))  # short closed: +3 on its own
    assert stats.trades == {(BTC, "buy"): 1, (BTC, "sell"): 1}
    assert stats.wins == 1 and stats.realized_pnl == 2.0


def test_orders_count_where_they_are_now_and_final_states_accumulate() -> None:
    orders = OrderStates()
    for cid in ("a", "b", "c"):
        orders.on_order(order(cid, "pending"))
    orders.on_order(order("a", "open"))
    orders.on_order(order("a", "filled"))
    orders.on_order(order("b", "rejected"))
    orders.on_order(order("c", "submitted"))
    assert orders.counts() == {"filled": 1, "rejected": 1, "submitted": 1}
    assert orders.tracked == sum(orders.counts().values()) == 3


def test_live_orders_are_bounded() -> None:
    orders = OrderStates(max_live=2)
    for cid in ("a", "b", "c"):
        orders.on_order(order(cid, "open"))
    assert orders.counts() == {"open": 2}
