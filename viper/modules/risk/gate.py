"""The pre-trade gate: an intent, the account and the limits in; an approved amount or a reason out.

Plain functions on plain values (no bus, no HTTP, no I/O). Entries are gated and sized by the
shared rules of `viper.risk_rules` (the backtester's own code), then checked once more in exact
Decimals against every cap, so float noise can never let an order past a limit. Exits
(reduce-only) are always allowed while there is a position to reduce.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, Decimal

import msgspec

from viper.config import RiskConfig
from viper.domain import MarketInfo, Side
from viper.events import TradeIntent
from viper.risk_rules import MarketSpec, RiskRules

UNKNOWN_SYMBOL = "unknown_symbol"
TRADING_GATE = "trading_gate"
POSITION_OPEN = "position_open"
NO_POSITION = "no_position"
NOT_REDUCING = "not_reducing"
INVALID_INPUT = "invalid_input"
LEVERAGE = "leverage"
MAX_NOTIONAL = "max_notional_per_symbol"
MAX_EXPOSURE = "max_exposure"
MARGIN = "insufficient_margin"
BELOW_MIN_AMOUNT = "below_min_amount"
BELOW_MIN_NOTIONAL = "below_min_notional"
ZERO = Decimal(0)


class Holding(msgspec.Struct, frozen=True, kw_only=True):
    """A position the exchange reports: signed size (long > 0) and the price it is marked at."""

    symbol: str
    size: Decimal
    entry_price: float
    mark: float

    @property
    def notional(self) -> Decimal:
        return abs(self.size) * dec(self.mark)


class Pending(msgspec.Struct, frozen=True, kw_only=True):
    """An approved entry not settled yet: it counts as a position and as exposure."""

    client_order_id: str
    symbol: str
    notional: Decimal


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """What the gate knows of the account at one instant."""

    equity: float
    free_margin: float
    holdings: dict[str, Holding] = msgspec.field(default_factory=dict)
    pending: dict[str, Pending] = msgspec.field(default_factory=dict)

    def exposure(self) -> Decimal:
        """Notional of every position and pending entry."""
        held = sum((h.notional for h in self.holdings.values() if h.size != ZERO), ZERO)
        return held + sum((p.notional for p in self.pending.values()), ZERO)

    def open_count(self) -> int:
        """Symbols with a position or a pending entry."""
        symbols = {s for s, h in self.holdings.items() if h.size != ZERO}
        return len(symbols | {p.symbol for p in self.pending.values()})

    def busy(self, symbol: str) -> bool:
        """Whether `symbol` has a position or a pending entry."""
        held = self.holdings.get(symbol)
        if held is not None and held.size != ZERO:
            return True
        return any(p.symbol == symbol for p in self.pending.values())


class GateState(msgspec.Struct, frozen=True, kw_only=True):
    """The switches that block every entry: kill switch, daily loss, reconciliation."""

    halted: bool = False
    daily_blocked: bool = False
    entries_allowed: bool = True
    gate_reason: str = ""


class Approval(msgspec.Struct, frozen=True, kw_only=True):
    """An order the gate lets through."""

    side: Side
    amount: Decimal
    reduce_only: bool
    leverage: int
    notional: Decimal


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """A refused intent: a stable reason code and a sentence for people."""

    reason: str
    detail: str = ""


def dec(value: float | int | Decimal) -> Decimal:
    """A float as the Decimal of its shortest repr (what a person would write)."""
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def round_to_step(amount: Decimal, step: Decimal) -> Decimal:
    """`amount` rounded down to a multiple of `step` (unchanged when step <= 0)."""
    if step <= ZERO:
        return amount
    return (amount / step).to_integral_value(rounding=ROUND_DOWN) * step


def spec_of(market: MarketInfo) -> MarketSpec:
    """The sizing rules of a market, for `viper.risk_rules`."""
    return MarketSpec(
        amount_step=float(market.amount_step),
        min_amount=float(market.min_amount),
        min_notional=float(market.min_notional),
    )


def check_exit(intent: TradeIntent, account: Account) -> Approval | Refusal:
    """A reduce-only order closing the whole position, if there is one to reduce."""
    held = account.holdings.get(intent.symbol)
    if held is None or held.size == ZERO:
        return Refusal(reason=NO_POSITION, detail=f"no open position in {intent.symbol}")
    reducing: Side = "sell" if held.size > ZERO else "buy"
    if intent.side != reducing:
        return Refusal(reason=NOT_REDUCING, detail=f"a {intent.side} does not reduce the position")
    amount = abs(held.size)
    return Approval(
        side=reducing, amount=amount, reduce_only=True, leverage=1, notional=amount * dec(held.mark)
    )


def _blocked(limits: RiskConfig, account: Account, state: GateState, symbol: str) -> Refusal | None:
    if not state.entries_allowed:
        return Refusal(reason=TRADING_GATE, detail=state.gate_reason or "entries not allowed")
    reason = RiskRules(config=limits).gate(
        open_positions=account.open_count(),
        daily_blocked=state.daily_blocked,
        halted=state.halted,
    )
    if reason is not None:
        return Refusal(reason=reason, detail=f"entries are blocked: {reason}")
    if account.busy(symbol):
        return Refusal(reason=POSITION_OPEN, detail=f"{symbol} already has a position or order")
    return None


def _risk_amount(
    intent: TradeIntent,
    limits: RiskConfig,
    account: Account,
    market: MarketInfo,
    leverage: int,
    slippage: float,
) -> Decimal | Refusal:
    """The rules' size for the intent's stop, as a Decimal on the market's step."""
    side = 1 if intent.side == "buy" else -1
    stop = intent.stop_loss
    distance = (intent.price - stop) * side if stop is not None else math.nan
    sizing = RiskRules(config=limits).size(
        equity=account.equity,
        price=intent.price,
        stop_distance=distance if math.isfinite(distance) else 0.0,
        side=side,
        available_margin=account.free_margin,
        exposure=float(account.exposure()),
        leverage=float(leverage),
        taker_fee=float(market.taker_fee),
        slippage=slippage,
        market=spec_of(market),
    )
    if sizing.reason is not None:
        return Refusal(reason=sizing.reason, detail=f"sizing refused: {sizing.reason}")
    return round_to_step(dec(sizing.size), market.amount_step)


def _caps(
    limits: RiskConfig, account: Account, market: MarketInfo, leverage: int, price: Decimal
) -> list[tuple[str, Decimal]]:
    """Largest amount each cap allows at `price`, with the reason it stands for."""
    equity = dec(account.equity)
    per_unit_margin = price * (Decimal(1) / Decimal(leverage) + market.taker_fee)
    room = dec(limits.max_total_exposure) * equity - account.exposure()
    return [
        (MAX_NOTIONAL, dec(limits.max_notional_per_symbol) / price),
        (LEVERAGE, Decimal(limits.max_leverage) * equity / price),
        (MAX_EXPOSURE, max(room, ZERO) / price),
        (MARGIN, max(dec(account.free_margin), ZERO) / per_unit_margin),
    ]


def check_entry(
    intent: TradeIntent,
    limits: RiskConfig,
    account: Account,
    market: MarketInfo | None,
    state: GateState,
    *,
    amount: Decimal | None = None,
    leverage: int | None = None,
    slippage: float = 0.0,
) -> Approval | Refusal:
    """Gate, size (when `amount` is None) and cap a new position."""
    if market is None:
        return Refusal(reason=UNKNOWN_SYMBOL, detail=f"unknown symbol {intent.symbol!r}")
    if not (math.isfinite(intent.price) and intent.price > 0 and account.equity > 0):
        return Refusal(reason=INVALID_INPUT, detail="price and equity must be positive")
    lev = limits.max_leverage if leverage is None else leverage
    if lev < 1 or lev > min(limits.max_leverage, market.max_leverage):
        top = min(limits.max_leverage, market.max_leverage)
        return Refusal(reason=LEVERAGE, detail=f"leverage {lev} is outside 1..{top}")
    blocked = _blocked(limits, account, state, intent.symbol)
    if blocked is not None:
        return blocked
    if amount is None:
        sized = _risk_amount(intent, limits, account, market, lev, slippage)
        if isinstance(sized, Refusal):
            return sized
        wanted, manual = sized, False
    elif amount <= ZERO:
        return Refusal(reason=INVALID_INPUT, detail="amount must be positive")
    else:
        wanted, manual = round_to_step(amount, market.amount_step), True
    return _fit(intent.side, wanted, manual, limits, account, market, lev, dec(intent.price))


def _fit(
    side: Side,
    wanted: Decimal,
    manual: bool,
    limits: RiskConfig,
    account: Account,
    market: MarketInfo,
    leverage: int,
    price: Decimal,
) -> Approval | Refusal:
    """The amount within every cap: a manual amount must fit, a sized one is trimmed to fit."""
    amount = wanted
    for reason, cap in _caps(limits, account, market, leverage, price):
        if amount > cap:
            if manual:
                return Refusal(reason=reason, detail=f"{amount} exceeds the {reason} cap")
            amount = round_to_step(cap, market.amount_step)
            if amount <= ZERO or amount < market.min_amount:
                return Refusal(reason=reason, detail=f"no room under {reason}")
    if amount <= ZERO or amount < market.min_amount:
        return Refusal(
            reason=BELOW_MIN_AMOUNT, detail=f"{amount} is below the minimum {market.min_amount}"
        )
    if amount * price < market.min_notional:
        return Refusal(reason=BELOW_MIN_NOTIONAL, detail=f"below {market.min_notional} notional")
    return Approval(
        side=side, amount=amount, reduce_only=False, leverage=leverage, notional=amount * price
    )
