"""The live trading engine's logic: candles, ticks and position changes in; intents and orders out.

It knows nothing of the bus or HTTP: every method returns the actions to take (a `TradeIntent`
for the risk manager, a protective `OrderRequest`, or a `Cancel`). Per closed bar, in the
backtester's order: the bar's range against the stop and take-profit of the open position,
the trailing stop moved by the bar, then the strategy's decision at the close, acted on at once
(the backtester acts on it at the next open, which is the same instant): exits go out at once,
entries once the bar's exits have settled (`batch.py`), in symbol order, as the backtester
exits everything before it enters anything.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

import msgspec

from viper.domain import TERMINAL_ORDER_STATES, Candle, Order, Position, Side
from viper.events import OrderRequest, TradeIntent
from viper.modules.live.batch import EntryBatch
from viper.modules.live.levels import Managed
from viper.modules.live.runner import SymbolRunner, entry_side, exits, flags_of
from viper.strategies import Decision, Strategy

TradingState = Literal["running", "paused", "stopped"]
StopMode = Literal["exchange", "engine"]


class Cancel(msgspec.Struct, frozen=True, kw_only=True):
    """Cancel a protective order at the exchange."""

    client_order_id: str
    symbol: str


Action = TradeIntent | OrderRequest | Cancel


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def intent_id_for(symbol: str, ts_ms: int, purpose: str, reason: str) -> str:
    """A deterministic intent id: the same bar and purpose always give the same id."""
    return "live-" + _digest(symbol, ts_ms, purpose, reason)[:24]


def protective_order_id(intent_id: str, kind: str) -> str:
    """The client order id of a position's protective order (`kind`: stop_loss, take_profit)."""
    return "vpr" + _digest("protect", intent_id, kind)[:20]


def round_price(price: float, step: Decimal | None) -> Decimal:
    """A price on the market's tick (nearest)."""
    value = Decimal(repr(price))
    if step is None or step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_HALF_EVEN) * step


class LiveEngine:
    """Runs one strategy over the configured symbols and manages the positions it opens."""

    def __init__(
        self,
        strategy: Strategy[Any],
        params: Any,
        symbols: Sequence[str],
        *,
        warmup_bars: int = 0,
        stops: StopMode = "engine",
        state: TradingState = "running",
    ) -> None:
        self.strategy = strategy.name
        self.runners = {s: SymbolRunner(strategy, params, warmup_bars) for s in symbols}
        self.warmup_bars = warmup_bars
        self.stops: StopMode = stops
        self.state: TradingState = state
        self.positions: dict[str, Managed] = {}
        self.batch: EntryBatch[tuple[TradeIntent, Managed]] = EntryBatch(symbols)
        self.intents: dict[str, TradeIntent] = {}
        self.orders: dict[str, str] = {}  # client order id -> intent id
        self.reduce_only: dict[str, str] = {}
        self.marks: dict[str, float] = {}
        self.price_steps: dict[str, Decimal] = {}
        self.counts: Counter[str] = Counter()
        self.dirty: set[str] = set()

    # --- switches -----------------------------------------------------------------------

    def set_state(self, state: TradingState) -> bool:
        """Start, pause (no entries) or stop (no entries, no signal exits); True if changed."""
        changed, self.state = state != self.state, state
        return changed

    def restrict(self, key: str, why: str) -> bool:
        """Enter reduce-only mode for `key` (a stale symbol, the exchange); True if new."""
        new = key not in self.reduce_only
        self.reduce_only[key] = why
        return new

    def lift(self, key: str) -> bool:
        """Leave reduce-only mode for `key`; True if it was set."""
        return self.reduce_only.pop(key, None) is not None

    def may_enter(self) -> bool:
        return self.state == "running" and not self.reduce_only

    def set_params(self, symbols: Iterable[str], params: Any) -> list[str]:
        """Trade `params` on those of `symbols` this engine runs, from their next bar on; the
        positions already open keep their levels. Returns the symbols changed."""
        changed = [s for s in symbols if s in self.runners]
        for symbol in changed:
            self.runners[symbol].reparametrize(params)
        return changed

    # --- market data --------------------------------------------------------------------

    def on_candle(self, symbol: str, candle: Candle, close_ms: int) -> list[Action]:
        """A closed bar: protective levels, then the strategy's decision at its close."""
        runner = self.runners.get(symbol)
        if runner is None:
            return []
        decision = runner.update(candle)
        if decision is None:
            return []
        self.batch.saw(close_ms, symbol)
        self.marks[symbol] = candle.close
        actions: list[Action] = []
        managed = self.positions.get(symbol)
        exited = False
        if managed is not None and managed.awaiting_exchange:
            managed.state, managed.awaiting_exchange = "open", False  # the level did not fill
        if managed is not None and managed.state == "open":
            reason = managed.hit(candle.high, candle.low)
            if reason is not None:
                actions.append(self._exit(managed, reason, close_ms, candle.close))
                exited = True
            elif managed.exchange_hit(candle.high, candle.low):
                managed.state, managed.awaiting_exchange, exited = "exiting", True, True
            else:
                managed.after_bar(candle.high, candle.low)
            self.dirty.add(symbol)
        if runner.bars > self.warmup_bars and not runner.cold:
            actions += self._decide(symbol, decision, candle.close, close_ms, exited)
        return actions + self._flush()

    def _decide(
        self, symbol: str, decision: Decision, price: float, ts_ms: int, exited: bool
    ) -> list[Action]:
        flags = flags_of(decision)
        managed = self.positions.get(symbol)
        actions: list[Action] = []
        if (
            managed is not None
            and managed.state == "open"
            and not exited
            and self.state != "stopped"
            and exits(managed.side, flags)
        ):
            actions.append(self._exit(managed, "signal", ts_ms, price))
            exited = True
        side = entry_side(flags)
        managed = self.positions.get(symbol)
        if side != 0 and self.may_enter() and (managed is None or managed.state == "exiting"):
            self.batch.add(ts_ms, symbol, self._entry(symbol, side, decision, price, ts_ms))
        return actions

    def _flush(self) -> list[Action]:
        """The entries whose bar is complete and whose exits have settled, in symbol order."""
        settled = not any(m.state == "exiting" for m in self.positions.values())
        sent: list[Action] = []
        for intent, managed in self.batch.take(settled):
            if not self.may_enter() or intent.symbol in self.positions:
                self.counts["entries_skipped"] += 1
                continue
            self.positions[intent.symbol] = managed
            self.intents[intent.intent_id] = intent
            self.counts["entries"] += 1
            self.dirty.add(intent.symbol)
            sent.append(intent)
        return sent

    def on_ticker(self, symbol: str, last: float, ts_ms: int) -> list[Action]:
        """A trade price: the open position's stop and take-profit."""
        self.marks[symbol] = last
        managed = self.positions.get(symbol)
        if managed is None:
            return []
        reason = managed.hit(last, last)
        return [] if reason is None else [self._exit(managed, reason, ts_ms, last)]

    # --- intents ------------------------------------------------------------------------

    def _entry(
        self,
        symbol: str,
        side: int,
        decision: Decision,
        price: float,
        ts_ms: int,
    ) -> tuple[TradeIntent, Managed]:
        stop, take = decision.stop_distance, decision.take_profit_distance
        intent = TradeIntent(
            ts_ms=ts_ms,
            intent_id=intent_id_for(symbol, ts_ms, "entry", "signal"),
            symbol=symbol,
            side="buy" if side > 0 else "sell",
            purpose="entry",
            price=price,
            stop_loss=price - side * stop if stop > 0 else None,
            take_profit=price + side * take if take > 0 else None,
            strategy=self.strategy,
            reason="signal",
        )
        managed = Managed(
            symbol=symbol,
            side=side,
            intent_id=intent.intent_id,
            opened_ms=ts_ms,
            stop_distance=stop,
            take_profit_distance=take,
            trail_distance=decision.trail_distance,
        )
        return intent, managed

    def _exit(self, managed: Managed, reason: str, ts_ms: int, price: float) -> TradeIntent:
        side: Side = "sell" if managed.side > 0 else "buy"
        intent = TradeIntent(
            ts_ms=ts_ms,
            intent_id=intent_id_for(managed.symbol, ts_ms, "exit", f"{reason}:{managed.intent_id}"),
            symbol=managed.symbol,
            side=side,
            purpose="exit",
            price=price,
            strategy=self.strategy,
            reason=reason,
        )
        managed.state = "exiting"
        self.intents[intent.intent_id] = intent
        self.counts[f"exits_{reason}"] += 1
        self.dirty.add(managed.symbol)
        return intent

    def flatten(self, ts_ms: int) -> list[Action]:
        """Exit every open position now (the stop action's `flatten`)."""
        return [
            self._exit(m, "manual", ts_ms, self.marks.get(m.symbol, m.entry_price))
            for m in list(self.positions.values())
            if m.state == "open"
        ]

    # --- what the order flow reports ----------------------------------------------------

    def on_order_request(self, request: OrderRequest) -> None:
        """Remember which order carries which of our intents."""
        if request.intent_id in self.intents:
            self.orders[request.client_order_id] = request.intent_id

    def on_rejected(self, intent_id: str, reason: str) -> list[Action]:
        """The risk manager (or the exchange) refused one of our intents."""
        intent = self.intents.pop(intent_id, None)
        if intent is None:
            return []
        self.counts[f"rejected_{reason}"] += 1
        managed = self.positions.get(intent.symbol)
        if managed is None:
            return self._flush()
        if intent.purpose == "entry" and managed.intent_id == intent_id:
            del self.positions[intent.symbol]
            self.dirty.add(intent.symbol)
        elif intent.purpose == "exit" and managed.state == "exiting":
            if reason == "no_position":
                return self._closed(intent.symbol)
            managed.state = "open"
        return self._flush()

    def on_order_update(self, order: Order) -> list[Action]:
        """An order ended: an unfilled one stands for a refusal of its intent."""
        if order.state not in TERMINAL_ORDER_STATES or order.filled > 0:
            return []
        intent_id = self.orders.pop(order.client_order_id, None)
        if intent_id is not None:
            return self.on_rejected(intent_id, f"order_{order.state}")
        for managed in self.positions.values():
            for kind, coid in list(managed.exchange_orders.items()):
                if coid == order.client_order_id:
                    del managed.exchange_orders[kind]
                    managed.exchange_stops = False  # watch the levels here instead
                    self.dirty.add(managed.symbol)
        return []

    def on_position(self, position: Position) -> list[Action]:
        """The journal's position in a symbol changed: opened, resized or closed."""
        symbol = position.symbol
        managed = self.positions.get(symbol)
        if position.size == 0:
            if managed is None or managed.state == "entering":
                return []
            return self._closed(symbol)
        side = 1 if position.direction == "long" else -1
        entry = float(position.entry_price)
        if managed is None or managed.side != side:
            managed = Managed(symbol=symbol, side=side, intent_id=f"adopted:{symbol}", adopted=True)
            managed.opened_ms = position.ts_ms
            self.positions[symbol] = managed
            managed.open_at(entry, position.size)
            self.dirty.add(symbol)
            return []
        self.dirty.add(symbol)
        if managed.state == "entering":
            self.intents.pop(managed.intent_id, None)
            managed.open_at(entry, position.size)
            return self._protect(managed)
        managed.size = position.size
        return []

    def _closed(self, symbol: str) -> list[Action]:
        managed = self.positions.pop(symbol)
        self.dirty.add(symbol)
        actions: list[Action] = [
            Cancel(client_order_id=coid, symbol=symbol) for coid in managed.exchange_orders.values()
        ]
        return actions + self._flush()

    def _protect(self, managed: Managed) -> list[Action]:
        """In exchange-stop mode, the stop and take-profit as reduce-only exchange orders."""
        if self.stops != "exchange":
            return []
        step = self.price_steps.get(managed.symbol)
        side: Side = "sell" if managed.side > 0 else "buy"
        orders: list[Action] = []
        for kind, level in (("stop_loss", managed.stop), ("take_profit", managed.take_profit)):
            if not math.isfinite(level) or level <= 0:
                continue
            coid = protective_order_id(managed.intent_id, kind)
            price = round_price(level, step)
            orders.append(
                OrderRequest(
                    ts_ms=managed.opened_ms,
                    client_order_id=coid,
                    symbol=managed.symbol,
                    side=side,
                    order_type="stop" if kind == "stop_loss" else "limit",
                    amount=managed.size,
                    price=None if kind == "stop_loss" else price,
                    stop_price=price if kind == "stop_loss" else None,
                    reduce_only=True,
                    intent_id=f"{managed.intent_id}:{kind}",
                )
            )
            managed.exchange_orders[kind] = coid
        managed.exchange_stops = bool(orders)
        return orders

    def take_dirty(self) -> dict[str, Managed | None]:
        """Positions changed since the last call (None: gone), for the journal."""
        changed = {s: self.positions.get(s) for s in self.dirty}
        self.dirty.clear()
        return changed
