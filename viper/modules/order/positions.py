"""Position arithmetic on fills, in exact Decimals: average entry, realized PnL, fees.

A book holds a signed net size (long > 0, short < 0). A fill in the position's direction (or
from flat) raises the size and averages the entry price; one against it realizes
`closed * (price - entry)` (sign by direction) and, past zero, flips the position at the
fill's price. `realized_pnl` is the price PnL alone; `fees` every fee paid; `net_pnl` both.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from viper.domain import Position, Side

ZERO = Decimal(0)


class PositionBook(msgspec.Struct, frozen=True, kw_only=True):
    """The journal's position in one symbol."""

    symbol: str
    size: Decimal = ZERO
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    adopted: bool = False
    updated_ms: int = 0

    @property
    def net_pnl(self) -> Decimal:
        """Realized PnL after fees."""
        return self.realized_pnl - self.fees

    def to_position(self) -> Position:
        """The shared `Position` noun; its `realized_pnl` is net of fees."""
        return Position(
            symbol=self.symbol,
            direction="short" if self.size < ZERO else "long",
            size=abs(self.size),
            entry_price=self.entry_price,
            realized_pnl=self.net_pnl,
            ts_ms=self.updated_ms,
        )


def signed(side: Side, amount: Decimal) -> Decimal:
    """A fill's amount with the sign of its side (buy > 0)."""
    return amount if side == "buy" else -amount


def apply_fill(
    book: PositionBook, side: Side, amount: Decimal, price: Decimal, fee: Decimal, ts_ms: int
) -> PositionBook:
    """The book after a fill of `amount` at `price` paying `fee`."""
    delta = signed(side, amount)
    size, entry, realized = book.size, book.entry_price, book.realized_pnl
    if size == ZERO or (size > ZERO) == (delta > ZERO):
        new_size = size + delta
        entry = (abs(size) * entry + amount * price) / abs(new_size)
    else:
        closed = min(abs(size), amount)
        direction = Decimal(1) if size > ZERO else Decimal(-1)
        realized += closed * (price - entry) * direction
        new_size = size + delta
        if new_size == ZERO:
            entry = ZERO
        elif (new_size > ZERO) != (size > ZERO):
            entry = price
    return msgspec.structs.replace(
        book,
        size=new_size,
        entry_price=entry,
        realized_pnl=realized,
        fees=book.fees + fee,
        updated_ms=ts_ms,
    )


def adopt(book: PositionBook, exchange: Position, ts_ms: int) -> PositionBook:
    """The book set to the exchange's size and entry; PnL and fees so far are kept."""
    size = exchange.size if exchange.direction == "long" else -exchange.size
    return msgspec.structs.replace(
        book,
        size=size,
        entry_price=exchange.entry_price if size != ZERO else ZERO,
        adopted=True,
        updated_ms=ts_ms,
    )
