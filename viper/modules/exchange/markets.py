"""Markets: the paper exchange's built-in table, a guess for symbols seen only in market data,
ccxt market structures as `MarketInfo`, and Decimal helpers for steps.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from viper.domain import MarketInfo

# BTC and ETH as Bitget lists them (shared/data/bitget/ccxt-static/markets.bitget.subset.json);
# SOL is not in that file: Bitget's SOLUSDT steps (0.1 SOL, 0.001 USDT) and leverage cap.
# Maintenance margin rates are Bitget's first position tier.
DEFAULT_MARKETS: dict[str, MarketInfo] = {
    "BTC/USDT:USDT": MarketInfo(
        symbol="BTC/USDT:USDT",
        base="BTC",
        quote="USDT",
        settle="USDT",
        amount_step=Decimal("0.001"),
        price_step=Decimal("0.1"),
        min_amount=Decimal("0.001"),
        min_notional=Decimal(5),
        max_leverage=125,
        maintenance_margin_rate=Decimal("0.004"),
    ),
    "ETH/USDT:USDT": MarketInfo(
        symbol="ETH/USDT:USDT",
        base="ETH",
        quote="USDT",
        settle="USDT",
        amount_step=Decimal("0.01"),
        price_step=Decimal("0.01"),
        min_amount=Decimal("0.01"),
        min_notional=Decimal(5),
        max_leverage=100,
        maintenance_margin_rate=Decimal("0.005"),
    ),
    "SOL/USDT:USDT": MarketInfo(
        symbol="SOL/USDT:USDT",
        base="SOL",
        quote="USDT",
        settle="USDT",
        amount_step=Decimal("0.1"),
        price_step=Decimal("0.001"),
        min_amount=Decimal("0.1"),
        min_notional=Decimal(5),
        max_leverage=75,
        maintenance_margin_rate=Decimal("0.01"),
    ),
}


def split_symbol(symbol: str) -> tuple[str, str, str]:
    """(base, quote, settle) of a ccxt symbol; a spot symbol settles in its quote."""
    pair, _, settle = symbol.partition(":")
    base, _, quote = pair.partition("/")
    return base, quote or "USDT", settle or quote or "USDT"


def guess_market(symbol: str, price: float) -> MarketInfo:
    """A market for a symbol seen only in market data: six significant price digits, and an
    amount step that keeps the smallest order worth a few USDT (as Bitget sizes its steps)."""
    base, quote, settle = split_symbol(symbol)
    magnitude = math.floor(math.log10(price)) if price > 0 else 0
    price_step = Decimal(1).scaleb(magnitude - 5)
    amount_step = min(Decimal(1), Decimal(1).scaleb(1 - magnitude))
    return MarketInfo(
        symbol=symbol,
        base=base,
        quote=quote,
        settle=settle,
        amount_step=amount_step,
        price_step=price_step,
        min_amount=amount_step,
    )


def to_decimal(value: Any) -> Decimal | None:
    """A ccxt number (float, int, str or None) as an exact Decimal of its shortest text."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _step(value: Any, tick_size: bool, default: Decimal) -> Decimal:
    number = to_decimal(value)
    if number is None or number <= 0:
        return default
    # DECIMAL_PLACES exchanges give a digit count, TICK_SIZE ones the step itself.
    return number if tick_size else Decimal(1).scaleb(-int(number))


def market_from_ccxt(market: dict[str, Any], tick_size: bool = True) -> MarketInfo:
    """A ccxt market structure as `MarketInfo` (steps, minimums, leverage cap, fees)."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    fallback = MarketInfo(symbol="", base="", quote="", settle="")
    amount_step = _step(precision.get("amount"), tick_size, fallback.amount_step)
    max_leverage = to_decimal((limits.get("leverage") or {}).get("max"))
    return MarketInfo(
        symbol=market["symbol"],
        base=market.get("base") or "",
        quote=market.get("quote") or "",
        settle=market.get("settle") or market.get("quote") or "",
        contract_size=to_decimal(market.get("contractSize")) or Decimal(1),
        amount_step=amount_step,
        price_step=_step(precision.get("price"), tick_size, fallback.price_step),
        min_amount=to_decimal((limits.get("amount") or {}).get("min")) or amount_step,
        min_notional=to_decimal((limits.get("cost") or {}).get("min")) or Decimal(0),
        max_leverage=int(max_leverage) if max_leverage else fallback.max_leverage,
        maker_fee=to_decimal(market.get("maker")) or fallback.maker_fee,
        taker_fee=to_decimal(market.get("taker")) or fallback.taker_fee,
    )


def on_step(value: Decimal, step: Decimal) -> bool:
    """Whether `value` is a whole multiple of `step`."""
    return step <= 0 or value % step == 0


def floor_step(value: Decimal, step: Decimal) -> Decimal:
    """`value` rounded down to a multiple of `step`."""
    if step <= 0:
        return value
    return (value // step) * step
