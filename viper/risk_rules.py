"""Pre-trade risk rules shared by the backtester and the live risk manager.

The rules are `viper.jit` kernels on floats and ints: the backtest compiles them with numba and
the live risk manager runs them as plain Python, one definition for both; `RiskRules` is the
thin Python layer over a `RiskConfig`.
A refusal is a stable reason code (`REASONS[code]`, e.g. "max_open_positions").

Sizing (`position_size`), for a `side` (+1 long, -1 short) entered at fill price `E`:

    stop level      X  = E - side * d                 (d = stop distance, price units)
    stop fill       X' = X * (1 - side * slippage)
    loss per unit   L  = d + slippage * X + taker * (E + X')     (price move + slippage + 2 fees)
    size            q  = risk_per_trade * equity / L

then capped, in this order, by `max_leverage * equity` of notional, `max_notional_per_symbol`,
the available margin (`q * E * (1 / leverage + taker) <= available`) and the room left under
`max_total_exposure * equity`; rounded DOWN to the amount step; refused below the minimum
amount (reason: the cap that bound last) or the minimum notional ("below_min_notional").
"""

from __future__ import annotations

import math
from typing import Final

import msgspec

from viper.config import RiskConfig
from viper.jit import kernel

OK: Final = 0
INVALID_INPUT: Final = 1
RISK_TOO_SMALL: Final = 2
BELOW_MIN_NOTIONAL: Final = 3
LEVERAGE: Final = 4
MAX_NOTIONAL: Final = 5
INSUFFICIENT_MARGIN: Final = 6
MAX_EXPOSURE: Final = 7
MAX_OPEN_POSITIONS: Final = 8
DAILY_LOSS_LIMIT: Final = 9
KILL_SWITCH: Final = 10
NO_STOP: Final = 11

REASONS: Final[tuple[str, ...]] = (
    "ok",
    "invalid_input",
    "risk_per_trade_too_small",
    "below_min_notional",
    "leverage",
    "max_notional_per_symbol",
    "insufficient_margin",
    "max_exposure",
    "max_open_positions",
    "daily_loss_limit",
    "kill_switch",
    "no_stop_distance",
)
_EPS: Final = 1e-9  # relative tolerance of the step rounding (0.3 / 0.1 is 2.9999999999999996)


@kernel()
def risk_size(
    equity: float,
    price: float,
    stop_distance: float,
    side: int,
    risk_per_trade: float,
    taker_fee: float,
    slippage: float,
) -> float:
    """Units whose loss at the stop (move, slippage, entry and exit fees) is the risk budget."""
    if not (equity > 0.0 and price > 0.0 and stop_distance > 0.0 and risk_per_trade > 0.0):
        return 0.0
    stop = price - side * stop_distance
    if stop <= 0.0:
        stop = 0.0
    stop_fill = stop * (1.0 - side * slippage)
    loss_per_unit = stop_distance + slippage * stop + taker_fee * (price + stop_fill)
    return risk_per_trade * equity / loss_per_unit


@kernel()
def fixed_fraction_size(equity: float, price: float, fraction: float, taker_fee: float) -> float:
    """Units whose notional plus entry fee is `fraction` of equity (leverage 1)."""
    if not (equity > 0.0 and price > 0.0 and fraction > 0.0):
        return 0.0
    return fraction * equity / (price * (1.0 + taker_fee))


@kernel()
def round_down(size: float, step: float) -> float:
    """`size` rounded down to a multiple of `step` (no rounding when step <= 0)."""
    if step <= 0.0:
        return size
    return math.floor(size / step + _EPS) * step


@kernel()
def cap_size(
    size: float,
    equity: float,
    price: float,
    leverage: float,
    max_leverage: float,
    max_notional: float,
    available_margin: float,
    taker_fee: float,
    exposure: float,
    max_total_exposure: float,
) -> tuple[float, int]:
    """`size` reduced to every cap, and the reason code of the cap that bound last (OK if none)."""
    reason = OK
    caps = (
        (max_leverage * equity / price, LEVERAGE),
        (max_notional / price, MAX_NOTIONAL),
        (max(available_margin, 0.0) / (price * (1.0 / leverage + taker_fee)), INSUFFICIENT_MARGIN),
        (max(max_total_exposure * equity - exposure, 0.0) / price, MAX_EXPOSURE),
    )
    for cap, code in caps:
        if cap < size:
            size = cap
            reason = code
    return size, reason


@kernel()
def position_size(
    base_size: float,
    equity: float,
    price: float,
    leverage: float,
    max_leverage: float,
    max_notional: float,
    available_margin: float,
    taker_fee: float,
    exposure: float,
    max_total_exposure: float,
    amount_step: float,
    min_amount: float,
    min_notional: float,
) -> tuple[float, int]:
    """The order size for an uncapped `base_size` (from `risk_size` or `fixed_fraction_size`).

    Returns (size, OK) or (0.0, reason code).
    """
    if not (equity > 0.0 and price > 0.0 and leverage > 0.0):
        return 0.0, INVALID_INPUT
    if leverage > max_leverage:
        return 0.0, LEVERAGE
    size, bound = cap_size(
        base_size,
        equity,
        price,
        leverage,
        max_leverage,
        max_notional,
        available_margin,
        taker_fee,
        exposure,
        max_total_exposure,
    )
    size = round_down(size, amount_step)
    if size <= 0.0 or size < min_amount:
        return 0.0, (RISK_TOO_SMALL if bound == OK else bound)
    if size * price < min_notional:
        return 0.0, BELOW_MIN_NOTIONAL
    return size, OK


@kernel()
def daily_loss_hit(day_start_equity: float, equity: float, daily_loss_limit: float) -> bool:
    """Whether the day's realized + unrealized loss reached the limit."""
    return day_start_equity - equity >= daily_loss_limit * day_start_equity


@kernel()
def kill_switch_hit(equity: float, peak_equity: float, max_drawdown: float) -> bool:
    """Whether equity fell to the drawdown limit below its peak (or to zero)."""
    return equity <= peak_equity * (1.0 - max_drawdown) or equity <= 0.0


@kernel()
def entry_gate(
    open_positions: int, max_open_positions: int, daily_blocked: bool, halted: bool
) -> int:
    """OK when a new position may be opened, else the reason code."""
    if halted:
        return KILL_SWITCH
    if daily_blocked:
        return DAILY_LOSS_LIMIT
    if open_positions >= max_open_positions:
        return MAX_OPEN_POSITIONS
    return OK


def reason_name(code: int) -> str:
    """The stable name of a reason code."""
    return REASONS[code]


class MarketSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Order-size rules of one market; `maintenance_margin_rate` None = the fee model's default."""

    amount_step: float = 0.0
    min_amount: float = 0.0
    min_notional: float = 0.0
    maintenance_margin_rate: float | None = None


class Sizing(msgspec.Struct, frozen=True, kw_only=True):
    """A sizing outcome: `size` > 0 and `reason` None, or size 0 and the refusal reason."""

    size: float
    reason: str | None = None


class RiskRules(msgspec.Struct, frozen=True, kw_only=True):
    """The rules of a `RiskConfig`, for Python callers (the live risk manager)."""

    config: RiskConfig = msgspec.field(default_factory=RiskConfig)

    def size(
        self,
        *,
        equity: float,
        price: float,
        stop_distance: float,
        side: int,
        available_margin: float,
        exposure: float = 0.0,
        leverage: float | None = None,
        taker_fee: float = 0.0006,
        slippage: float = 0.0,
        market: MarketSpec | None = None,
    ) -> Sizing:
        """Risk-based size of a new position at `price` with its stop `stop_distance` away."""
        cfg, spec = self.config, market or MarketSpec()
        if not stop_distance > 0.0:
            return Sizing(size=0.0, reason=REASONS[NO_STOP])
        base = risk_size(
            equity, price, stop_distance, side, cfg.risk_per_trade, taker_fee, slippage
        )
        size, code = position_size(
            base,
            equity,
            price,
            float(cfg.max_leverage if leverage is None else leverage),
            float(cfg.max_leverage),
            cfg.max_notional_per_symbol,
            available_margin,
            taker_fee,
            exposure,
            cfg.max_total_exposure,
            spec.amount_step,
            spec.min_amount,
            spec.min_notional,
        )
        return Sizing(size=size, reason=None if code == OK else REASONS[code])

    def gate(self, *, open_positions: int, daily_blocked: bool, halted: bool) -> str | None:
        """None when a new entry is allowed, else the reason it is not."""
        code = entry_gate(open_positions, self.config.max_open_positions, daily_blocked, halted)
        return None if code == OK else REASONS[code]

    def daily_loss_hit(self, *, day_start_equity: float, equity: float) -> bool:
        """Whether the daily loss limit blocks entries until the next UTC day."""
        return bool(daily_loss_hit(day_start_equity, equity, self.config.daily_loss_limit))

    def kill_switch_hit(self, *, equity: float, peak_equity: float) -> bool:
        """Whether the drawdown kill switch must flatten and halt."""
        return bool(kill_switch_hit(equity, peak_equity, self.config.max_drawdown))
