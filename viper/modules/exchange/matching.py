"""Price rules of the paper exchange: when an order trades, at what price, and how much.

Pure functions of an order and the market (a quote or a bar). Conventions: market orders take
the ask (buy) or bid (sell), else the last price; a resting limit fills at its own price, as a
maker, only when a bar trades *through* it (touching is not enough), and at most a share of the
bar's volume; a stop triggers when the price reaches it and fills as a taker at the stop, or at
the bar's open when the bar gapped past it.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from viper.domain import Candle, Side
from viper.modules.exchange.markets import floor_step
from viper.modules.exchange.state import PaperOrder, Quote


def dec(value: float) -> Decimal:
    """A market-data float as the Decimal of its shortest text (100.1 -> Decimal('100.1'))."""
    return Decimal(repr(value))


def taker_price(side: Side, quote: Quote) -> Decimal:
    """What a market order pays: the far side of the book when known, else the last trade."""
    far = quote.ask if side == "buy" else quote.bid
    return far if far is not None else quote.last


def would_take(side: Side, price: Decimal, quote: Quote | None) -> bool:
    """Whether a limit order at `price` would trade at once against the current market."""
    if quote is None:
        return False
    far = taker_price(side, quote)
    return price >= far if side == "buy" else price <= far


def stop_reached(side: Side, stop: Decimal, price: Decimal) -> bool:
    """Whether a stop at `stop` triggers at `price`: buy stops above, sell stops below."""
    return price >= stop if side == "buy" else price <= stop


def marketable(order: PaperOrder, quote: Quote) -> bool:
    """Whether `order` trades now at `quote`: market orders, crossing limits, reached stops."""
    if order.type == "market":
        return True
    if order.type == "limit":
        return order.price is not None and would_take(order.side, order.price, quote)
    return order.stop_price is not None and stop_reached(order.side, order.stop_price, quote.last)


def stop_fill_on_bar(order: PaperOrder, candle: Candle) -> Decimal | None:
    """The fill price of a stop that this bar reaches, or None if it does not."""
    stop = order.stop_price
    if stop is None:
        return None
    high, low, open_ = dec(candle.high), dec(candle.low), dec(candle.open)
    if order.side == "buy":
        return max(stop, open_) if high >= stop else None
    return min(stop, open_) if low <= stop else None


def trades_through(order: PaperOrder, candle: Candle) -> bool:
    """Whether a bar traded beyond a resting limit's price (so it fills as a maker)."""
    price = order.price
    if price is None:
        return False
    return dec(candle.low) < price if order.side == "buy" else dec(candle.high) > price


def queue_order(orders: list[PaperOrder]) -> list[PaperOrder]:
    """Resting limits in fill priority: best price first (highest bid, lowest ask), then age."""

    def key(order: PaperOrder) -> tuple[Decimal, int]:
        price = order.price or Decimal(0)
        return (-price if order.side == "buy" else price, order.seq)

    return sorted(orders, key=key)


def share_bar_volume(
    orders: list[PaperOrder], candle: Candle, share: Decimal, step: Decimal
) -> Iterator[tuple[PaperOrder, Decimal]]:
    """(order, amount) for each resting limit this bar fills, sharing `share` of its volume.

    Orders are served in price-time priority; amounts are rounded down to the market's step.
    """
    capacity = dec(candle.volume) * share
    for order in queue_order([o for o in orders if trades_through(o, candle)]):
        amount = floor_step(min(order.remaining, capacity), step)
        if amount <= 0:
            continue
        capacity -= amount
        yield order, amount


def funding_times(after_ms: int, until_ms: int, interval_ms: int) -> list[int]:
    """Funding times t with after_ms < t <= until_ms (multiples of the interval since epoch)."""
    first = (after_ms // interval_ms + 1) * interval_ms
    return list(range(first, until_ms + 1, interval_ms))
