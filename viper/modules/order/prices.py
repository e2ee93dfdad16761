"""Latest prices per symbol (from tickers), for repricing timed-out limit orders."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from viper.domain import Side


class PriceBook:
    """The last bid, ask and trade price seen per symbol."""

    def __init__(self) -> None:
        self._quotes: dict[str, tuple[float | None, float | None, float]] = {}

    def note(self, symbol: str, last: float, bid: float | None, ask: float | None) -> None:
        """Remember a ticker."""
        self._quotes[symbol] = (bid, ask, last)

    def marketable(self, symbol: str, side: Side) -> Decimal | None:
        """The price a buy (the ask) or a sell (the bid) would meet now; the last trade else."""
        quote = self._quotes.get(symbol)
        if quote is None:
            return None
        bid, ask, last = quote
        price = (ask if side == "buy" else bid) or last
        return Decimal(repr(price)) if price > 0 else None


def to_step(price: Decimal, step: Decimal, side: Side) -> Decimal:
    """`price` on the market's price grid, rounded toward the book (up to buy, down to sell)."""
    if step <= 0:
        return price
    rounding = ROUND_CEILING if side == "buy" else ROUND_FLOOR
    return (price / step).to_integral_value(rounding=rounding) * step
