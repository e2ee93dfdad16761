"""The portfolio view: the exchange's balance and positions, with the engine's levels and marks."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import msgspec

from viper.domain import Balance, Position
from viper.modules.live.levels import Managed, finite
from viper.protocols import Portfolio, PositionView


class ManagedView(msgspec.Struct, frozen=True, kw_only=True):
    """A position the engine manages, with its protective levels."""

    symbol: str
    direction: str
    state: str
    size: Decimal
    entry_price: float | None
    stop_loss: float | None
    take_profit: float | None
    trailing_stop: float | None
    effective_stop: float | None
    exchange_stops: bool
    opened_ms: int
    intent_id: str
    adopted: bool


def managed_view(m: Managed) -> ManagedView:
    """The JSON view of a managed position."""
    return ManagedView(
        symbol=m.symbol,
        direction="long" if m.side > 0 else "short",
        state=m.state,
        size=m.size,
        entry_price=finite(m.entry_price),
        stop_loss=finite(m.stop),
        take_profit=finite(m.take_profit),
        trailing_stop=m.trailing_stop,
        effective_stop=finite(m.effective_stop),
        exchange_stops=m.exchange_stops,
        opened_ms=m.opened_ms,
        intent_id=m.intent_id,
        adopted=m.adopted,
    )


def position_view(
    position: Position, mark: float | None, managed: Managed | None, realized: float
) -> PositionView:
    """One exchange position with its mark-to-market and the engine's levels."""
    side = 1 if position.direction == "long" else -1
    price = mark if mark is not None else float(position.entry_price)
    unrealized = float(position.size) * (price - float(position.entry_price)) * side
    return PositionView(
        symbol=position.symbol,
        direction=position.direction,
        size=position.size,
        entry_price=position.entry_price,
        mark_price=mark,
        notional=round(float(position.size) * price, 8),
        unrealized_pnl=round(unrealized, 8),
        realized_pnl=realized,
        stop_loss=finite(managed.stop) if managed else None,
        take_profit=finite(managed.take_profit) if managed else None,
        trailing_stop=managed.trailing_stop if managed else None,
        opened_ms=managed.opened_ms if managed else position.ts_ms,
        managed=managed is not None and not managed.adopted,
    )


def build_portfolio(
    balance: Balance,
    positions: list[Position],
    marks: Mapping[str, float],
    managed: Mapping[str, Managed],
    realized: Mapping[str, float],
    now_ms: int,
) -> Portfolio:
    """Equity, PnL and exposure of the account."""
    views = [
        position_view(p, marks.get(p.symbol), managed.get(p.symbol), realized.get(p.symbol, 0.0))
        for p in positions
        if p.size != 0
    ]
    return Portfolio(
        equity=float(balance.total),
        free_margin=float(balance.free),
        realized_pnl=round(sum(realized.values()), 8),
        unrealized_pnl=round(sum(v.unrealized_pnl for v in views), 8),
        exposure=round(sum(v.notional for v in views), 8),
        positions=views,
        updated_ms=now_ms,
    )
