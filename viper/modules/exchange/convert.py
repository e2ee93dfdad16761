"""ccxt's unified structures (orders, positions, balances) as VIPER's domain records.

ccxt hands numbers as floats; each becomes the Decimal of its shortest text, so 0.001 stays
Decimal('0.001'). Fields ccxt leaves out fall back to what VIPER sent, when known.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from viper.domain import Balance, ExchangeOrder, ExchangeOrderStatus, OrderType, Position, Side
from viper.modules.exchange.markets import to_decimal

_STATUSES: dict[str, ExchangeOrderStatus] = {
    "open": "open",
    "closed": "closed",
    "canceled": "canceled",
    "cancelled": "canceled",
    "rejected": "rejected",
    "expired": "expired",
}
ZERO = Decimal(0)


def _type(order: dict[str, Any]) -> OrderType:
    if order.get("triggerPrice") or order.get("stopPrice"):
        return "stop"
    return "limit" if order.get("type") == "limit" else "market"


def order_from_ccxt(order: dict[str, Any], fallback: ExchangeOrder | None = None) -> ExchangeOrder:
    """A ccxt order structure as an `ExchangeOrder`; `fallback` fills what ccxt left empty."""
    side: Side = "sell" if order.get("side") == "sell" else "buy"
    fee = (order.get("fee") or {}).get("cost")
    status = _STATUSES.get(str(order.get("status") or ""))
    amount = to_decimal(order.get("amount"))
    price = to_decimal(order.get("price"))
    stop = to_decimal(order.get("triggerPrice") or order.get("stopPrice"))
    if fallback is not None:
        side = fallback.side if order.get("side") is None else side
        amount = amount if amount is not None else fallback.amount
        price = price if price is not None else fallback.price
        stop = stop if stop is not None else fallback.stop_price
    return ExchangeOrder(
        client_order_id=order.get("clientOrderId")
        or (fallback.client_order_id if fallback else ""),
        symbol=order.get("symbol") or (fallback.symbol if fallback else ""),
        side=side,
        type=fallback.type if fallback is not None and order.get("type") is None else _type(order),
        amount=amount if amount is not None else ZERO,
        status=status or (fallback.status if fallback else "open"),
        exchange_order_id=order.get("id") or (fallback.exchange_order_id if fallback else None),
        price=price if price else None,
        stop_price=stop,
        filled=to_decimal(order.get("filled")) or ZERO,
        average_price=to_decimal(order.get("average")) or None,
        fee=abs(to_decimal(fee) or ZERO),
        reduce_only=bool(order.get("reduceOnly"))
        or (fallback.reduce_only if fallback is not None else False),
        ts_ms=int(order.get("lastUpdateTimestamp") or order.get("timestamp") or 0),
    )


def position_from_ccxt(position: dict[str, Any]) -> Position | None:
    """A ccxt position as a `Position`; None when it holds nothing."""
    contracts = to_decimal(position.get("contracts")) or ZERO
    size = contracts * (to_decimal(position.get("contractSize")) or Decimal(1))
    if size == 0:
        return None
    margin = position.get("initialMargin") or position.get("collateral")
    return Position(
        symbol=position["symbol"],
        direction="short" if position.get("side") == "short" else "long",
        size=abs(size),
        entry_price=to_decimal(position.get("entryPrice")) or ZERO,
        leverage=to_decimal(position.get("leverage")) or Decimal(1),
        margin=to_decimal(margin) or ZERO,
        liquidation_price=to_decimal(position.get("liquidationPrice")),
        unrealized_pnl=to_decimal(position.get("unrealizedPnl")) or ZERO,
        realized_pnl=to_decimal(position.get("realizedPnl")) or ZERO,
        ts_ms=int(position.get("timestamp") or 0),
    )


def balance_from_ccxt(balance: dict[str, Any], currency: str) -> Balance:
    """The `currency` entry of a ccxt balance (unrealized PnL from the raw account row)."""
    entry = balance.get(currency) or {}
    total = to_decimal(entry.get("total")) or ZERO
    free = to_decimal(entry.get("free")) or ZERO
    used = to_decimal(entry.get("used"))
    unrealized = ZERO
    for row in balance.get("info") or []:
        if isinstance(row, dict) and row.get("marginCoin", "").upper() == currency:
            unrealized = to_decimal(row.get("unrealizedPL")) or ZERO
    return Balance(
        currency=currency,
        total=total,
        free=free,
        used=used if used is not None else total - free,
        unrealized_pnl=unrealized,
    )
