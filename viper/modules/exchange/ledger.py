"""Isolated-margin bookkeeping for the paper exchange: wallet, positions, margin, PnL, funding.

Plain arithmetic on Decimals, Bitget's rules: a position's margin is its opening notional over
its leverage; a fill that reduces a position realizes PnL and releases margin pro rata; a
liquidation forfeits the position's whole margin.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal

from viper.domain import Balance, MarketInfo, Position, Side
from viper.errors import InsufficientFundsError
from viper.modules.exchange.state import ZERO, PaperAccount, PaperPosition


def signed(side: Side, amount: Decimal) -> Decimal:
    """`amount` with the sign of its effect on a position: buys add, sells subtract."""
    return amount if side == "buy" else -amount


def liquidation_price(position: PaperPosition, market: MarketInfo) -> Decimal | None:
    """Bitget's isolated liquidation price: where margin + unrealized PnL falls to the
    maintenance margin plus the taker fee to close, both valued at that price.

    long:  (entry * size - margin) / (size * (1 - mmr - taker))
    short: (entry * size + margin) / (size * (1 + mmr + taker))
    Rounded to the price step toward the entry (the conservative side); None when unreachable.
    """
    size = abs(position.size)
    if size == 0:
        return None
    rate = market.maintenance_margin_rate + market.taker_fee
    notional = position.entry_price * size
    if position.size > 0:
        price = (notional - position.margin) / (size * (1 - rate))
        rounding = ROUND_UP
    else:
        price = (notional + position.margin) / (size * (1 + rate))
        rounding = ROUND_DOWN
    if price <= 0:
        return None
    step = market.price_step
    return (price / step).quantize(Decimal(1), rounding=rounding) * step


def unrealized_pnl(position: PaperPosition, mark: Decimal) -> Decimal:
    """PnL of the open size at `mark`."""
    return (mark - position.entry_price) * position.size


class Ledger:
    """The wallet and the open positions; every change goes through one of these methods."""

    def __init__(self, account: PaperAccount, positions: dict[str, PaperPosition]) -> None:
        self.account = account
        self.positions = positions

    def position_margin(self) -> Decimal:
        """Margin held by every open position."""
        return sum((p.margin for p in self.positions.values()), ZERO)

    def free(self, reserved: Decimal) -> Decimal:
        """Cash not held as position margin nor reserved for open orders."""
        return self.account.wallet - self.position_margin() - reserved

    def opening_amount(self, symbol: str, side: Side, amount: Decimal) -> Decimal:
        """The part of an order of `amount` that would open or grow exposure (one-way mode)."""
        position = self.positions.get(symbol)
        if position is None or (position.size > 0) == (side == "buy"):
            return amount
        return max(ZERO, amount - abs(position.size))

    def check_margin(self, needed: Decimal, reserved: Decimal, what: str) -> None:
        """InsufficientFundsError unless `needed` fits in the free balance."""
        free = self.free(reserved)
        if needed > free:
            raise InsufficientFundsError(
                f"{what} needs {needed:.4f} {self.account.currency} of margin and fees; "
                f"{free:.4f} is free",
                needed=str(needed),
                free=str(free),
            )

    def apply_fill(
        self, symbol: str, side: Side, amount: Decimal, price: Decimal, leverage: int, ts_ms: int
    ) -> Decimal:
        """Book a fill's effect on the position and wallet (fees apart); returns realized PnL."""
        change = signed(side, amount)
        position = self.positions.get(symbol)
        if position is None:
            self._open(symbol, change, price, leverage, ts_ms)
            return ZERO
        if (position.size > 0) == (change > 0):
            total = abs(position.size) + amount
            position.entry_price = (
                abs(position.size) * position.entry_price + amount * price
            ) / total
            position.margin += amount * price / position.leverage
            position.size += change
            position.updated_ms = ts_ms
            return ZERO
        return self._reduce(position, change, price, leverage, ts_ms)

    def _open(self, symbol: str, size: Decimal, price: Decimal, leverage: int, ts: int) -> None:
        self.positions[symbol] = PaperPosition(
            symbol=symbol,
            size=size,
            entry_price=price,
            leverage=leverage,
            margin=abs(size) * price / leverage,
            opened_ms=ts,
            updated_ms=ts,
        )

    def _reduce(
        self, position: PaperPosition, change: Decimal, price: Decimal, leverage: int, ts: int
    ) -> Decimal:
        closed = min(abs(change), abs(position.size))
        direction = 1 if position.size > 0 else -1
        pnl = (price - position.entry_price) * closed * direction
        released = position.margin * closed / abs(position.size)
        self.account.wallet += pnl
        position.realized_pnl += pnl
        position.margin -= released
        position.size += change if abs(change) <= abs(position.size) else -position.size
        position.updated_ms = ts
        if position.size == 0:
            del self.positions[position.symbol]
        rest = abs(change) - closed
        if rest > 0:  # the fill went through zero: the rest opens the other way
            self._open(position.symbol, rest if change > 0 else -rest, price, leverage, ts)
        return pnl

    def charge(self, amount: Decimal) -> None:
        """Take a fee (or anything else owed) from the wallet."""
        self.account.wallet -= amount

    def fund(self, position: PaperPosition, mark: Decimal, rate: Decimal) -> Decimal:
        """Settle funding on `position` at `mark`: longs pay a positive rate, shorts receive."""
        payment = position.size * mark * rate
        self.account.wallet -= payment
        position.funding += payment
        return payment

    def relever(self, symbol: str, leverage: int, reserved: Decimal) -> None:
        """Re-margin an open position at a new leverage; more margin must be free."""
        position = self.positions.get(symbol)
        if position is None:
            return
        margin = abs(position.size) * position.entry_price / leverage
        extra = margin - position.margin
        if extra > 0:
            self.check_margin(extra, reserved, f"leverage {leverage}x on {symbol}")
        position.margin, position.leverage = margin, leverage

    def balance(self, marks: dict[str, Decimal], reserved: Decimal) -> Balance:
        """Equity (wallet + unrealized PnL), free cash and used margin."""
        unrealized = sum(
            (unrealized_pnl(p, marks.get(s, p.entry_price)) for s, p in self.positions.items()),
            ZERO,
        )
        used = self.position_margin() + reserved
        return Balance(
            currency=self.account.currency,
            total=self.account.wallet + unrealized,
            free=self.account.wallet - used,
            used=used,
            unrealized_pnl=unrealized,
        )

    def view(self, position: PaperPosition, market: MarketInfo, mark: Decimal | None) -> Position:
        """A position as the `Exchange` protocol reports it."""
        return Position(
            symbol=position.symbol,
            direction=position.direction,
            size=abs(position.size),
            entry_price=position.entry_price,
            leverage=Decimal(position.leverage),
            margin=position.margin,
            liquidation_price=liquidation_price(position, market),
            unrealized_pnl=unrealized_pnl(position, mark) if mark is not None else ZERO,
            realized_pnl=position.realized_pnl,
            ts_ms=position.updated_ms,
        )
