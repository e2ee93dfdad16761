"""The live module: runs the configured strategy on closed candles and manages its positions.

It subscribes to `CandleClosed` and `Ticker` (the strategy and the protective levels), to the
order flow (`OrderRequest`, `OrderUpdated`, `PositionChanged`, `TradeRejected`) and to the
health of market data and the exchange (`MarketDataStale`/`Resumed`,
`ExchangeConnectionChanged`), which switch it to reduce-only. It sends `TradeIntent`s to the
risk manager, places protective orders in exchange-stop mode, and provides `PortfolioSource`.

Parameters applied through the optimizer (`StrategyParametersApplied`, stored in its audit
table) replace the configured ones for the strategy it trades: the newest applied set per
symbol, `*` for every symbol, read at start and followed while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from loguru import logger
from prometheus_client import CollectorRegistry
from starlette.routing import BaseRoute

from viper.bus import EventBus, Subscription
from viper.config import Config
from viper.errors import ConfigError, ConflictError, TemporaryError, ValidationError, ViperError
from viper.events import (
    AlertRaised,
    CandleClosed,
    ExchangeConnectionChanged,
    MarketDataResumed,
    MarketDataStale,
    OrderRequest,
    OrderUpdated,
    PositionChanged,
    StrategyParametersApplied,
    Ticker,
    TradeIntent,
    TradeRejected,
    TradingStateChanged,
)
from viper.modules.base import Health, ModuleContext
from viper.modules.live.engine import Action, Cancel, LiveEngine, TradingState, intent_id_for
from viper.modules.live.journal import LiveJournal
from viper.modules.live.metrics import LiveCollector
from viper.modules.live.portfolio import ManagedView, build_portfolio, managed_view
from viper.modules.live.routes import ManualOrder, routes
from viper.modules.live.status import LiveStatus, ParamsSource, live_status
from viper.optimizer.store import AppliedParameters, OptimizerStore, in_effect
from viper.protocols import Exchange, Portfolio, PortfolioSource, PositionView, RiskGate
from viper.strategies import get_strategy, live_params


def build_engine(config: Config) -> tuple[LiveEngine, Any]:
    """The engine for `[trading]` and `[live]`, and the strategy's parameters."""
    try:
        strategy = get_strategy(config.trading.strategy)
        params = strategy.params(live_params(config))
    except ViperError as exc:
        raise ConfigError(f"trading.strategy: {exc.detail}") from None
    live = config.live
    engine = LiveEngine(
        strategy,
        params,
        config.trading.symbols,
        warmup_bars=config.streamer.warmup_bars,
        stops=live.stops,
        state="running" if live.autostart else "stopped",
    )
    return engine, params


class LiveModule:
    """Live trading engine: the strategy, its intents and positions, at /live."""

    name = "live"
    requires: tuple[str, ...] = ("signal", "risk", "order")

    def __init__(self) -> None:
        self.engine_or_none: LiveEngine | None = None
        self.params: Any = None
        self.applied: dict[str, ParamsSource] = {}  # symbol -> where its parameters came from
        self.realized: dict[str, float] = {}
        self._ctx: ModuleContext | None = None
        self._journal: LiveJournal | None = None
        self._subs: list[Subscription] = []
        self._collector = LiveCollector(self)
        self._metrics: CollectorRegistry | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        engine, self.params = build_engine(ctx.config)
        self._ctx, self._journal = ctx, LiveJournal(ctx.store)
        await self._journal.migrate()
        exchange = ctx.services.maybe(Exchange)
        if exchange is not None:
            markets = await exchange.markets()
            engine.price_steps = {s: m.price_step for s, m in markets.items()}
            traded = {s: markets[s] for s in engine.runners if s in markets}
            await self._journal.markets(traded, ctx.clock.now_ms())
        engine.positions = await self._journal.positions()
        self.engine_or_none = engine
        await self._load_applied(ctx)
        if exchange is not None:
            for position in await exchange.fetch_positions():
                engine.on_position(position)
        self._subscribe(ctx.bus)
        ctx.services.provide(PortfolioSource, self)
        ctx.metrics.register(self._collector)
        self._metrics = ctx.metrics
        logger.info(
            "live: {} on {} {} ({}; stops {})",
            engine.strategy,
            ", ".join(engine.runners),
            ctx.config.trading.timeframe,
            engine.state,
            engine.stops,
        )

    def _subscribe(self, bus: EventBus) -> None:
        drop: Any = {"overflow": "drop_oldest"}
        self._subs = [
            bus.subscribe(CandleClosed, self._on_candle, name="live.candles"),
            bus.subscribe(Ticker, self._on_ticker, name="live.ticks", **drop),
            bus.subscribe(PositionChanged, self._on_position, name="live.positions"),
            bus.subscribe(TradeRejected, self._on_rejected, name="live.rejections"),
            bus.subscribe(OrderRequest, self._on_request, name="live.requests"),
            bus.subscribe(OrderUpdated, self._on_order, name="live.orders"),
            bus.subscribe(MarketDataStale, self._on_stale, name="live.stale"),
            bus.subscribe(MarketDataResumed, self._on_resumed, name="live.resumed"),
            bus.subscribe(ExchangeConnectionChanged, self._on_exchange, name="live.exchange"),
            bus.subscribe(StrategyParametersApplied, self._on_applied, name="live.parameters"),
        ]

    async def _load_applied(self, ctx: ModuleContext) -> None:
        """The newest applied parameters of each symbol (its own or `*`, the newer wins)."""
        store = OptimizerStore(ctx.store)
        await store.migrate()
        mine = [a for a in await store.applied() if a.strategy == self.engine.strategy]
        for symbol in list(self.engine.runners):
            chosen = in_effect(mine, symbol)
            if chosen is not None:
                await self._use(chosen, [symbol])

    async def _use(self, applied: AppliedParameters, symbols: list[str]) -> list[str]:
        """Trade `applied` on `symbols`; parameters the strategy refuses are reported, and the
        ones in use stay."""
        engine = self.engine
        try:
            params = get_strategy(engine.strategy).params(applied.params)
        except ViperError as exc:
            await self._announce(
                "warning",
                f"parameters from {applied.source_job or 'the API'} not applied to "
                f"{engine.strategy}: {exc.detail}",
            )
            return []
        changed = engine.set_params(symbols, params)
        source = ParamsSource(
            source_job=applied.source_job, actor=applied.actor, applied_ms=applied.applied_ms
        )
        for symbol in changed:
            self.applied[symbol] = source
        return changed

    # --- handlers ----------------------------------------------------------------------

    async def _on_candle(self, event: CandleClosed) -> None:
        if event.timeframe == self.ctx.config.trading.timeframe:
            await self._act(self.engine.on_candle(event.symbol, event.candle, event.ts_ms))

    async def _on_ticker(self, event: Ticker) -> None:
        await self._act(self.engine.on_ticker(event.symbol, event.last, event.ts_ms))

    async def _on_position(self, event: PositionChanged) -> None:
        self.realized[event.position.symbol] = float(event.position.realized_pnl)
        await self._act(self.engine.on_position(event.position))

    async def _on_rejected(self, event: TradeRejected) -> None:
        if event.intent_id in self.engine.intents and self._journal is not None:
            await self._journal.rejected(event.intent_id, event.reason, event.detail)
        await self._act(self.engine.on_rejected(event.intent_id, event.reason))

    async def _on_request(self, event: OrderRequest) -> None:
        self.engine.on_order_request(event)

    async def _on_order(self, event: OrderUpdated) -> None:
        await self._act(self.engine.on_order_update(event.order))

    async def _on_stale(self, event: MarketDataStale) -> None:
        why = f"market data for {event.symbol} stale for {event.silent_seconds:.0f} s"
        await self._restrict(f"stale:{event.symbol}", why)

    async def _on_resumed(self, event: MarketDataResumed) -> None:
        await self._lift(f"stale:{event.symbol}")

    async def _on_exchange(self, event: ExchangeConnectionChanged) -> None:
        if event.connected:
            await self._lift("exchange")
        else:
            await self._restrict(
                "exchange", f"exchange {event.exchange} unreachable: {event.reason}"
            )

    async def _on_applied(self, event: StrategyParametersApplied) -> None:
        engine = self.engine
        if event.strategy != engine.strategy:
            logger.info(
                "live: parameters for {} not used: this engine trades {}",
                event.strategy,
                engine.strategy,
            )
            return
        symbols = list(engine.runners) if event.symbol == "*" else [event.symbol]
        applied = AppliedParameters(
            strategy=event.strategy,
            symbol=event.symbol,
            params=event.params,
            source_job=event.source_job,
            actor=event.actor,
            applied_ms=event.ts_ms,
        )
        changed = await self._use(applied, symbols)
        if changed:
            await self._announce(
                "info",
                f"{engine.strategy} parameters from {event.source_job or 'the API'} "
                f"(by {event.actor or 'unknown'}) trade on {', '.join(changed)} from the next bar",
            )

    # --- acting ------------------------------------------------------------------------

    async def _act(self, actions: list[Action]) -> None:
        """Publish intents and protective orders, cancel stale ones, journal it all."""
        journal, ctx, engine = self._journal, self.ctx, self.engine
        for action in actions:
            if isinstance(action, Cancel):
                await self._cancel(action)
                continue
            await ctx.bus.publish(action)
            if journal is None:
                continue
            if isinstance(action, TradeIntent):
                await journal.intent(action, ctx.clock.now_ms())
            else:
                await journal.protective(action, engine.strategy, ctx.clock.now_ms())
        if engine.dirty and journal is not None:
            await journal.save_positions(engine.take_dirty(), ctx.clock.now_ms())

    async def _cancel(self, cancel: Cancel) -> None:
        exchange = self.ctx.services.maybe(Exchange)
        if exchange is None:
            return
        try:
            await exchange.cancel_order(cancel.client_order_id, cancel.symbol)
        except ViperError as exc:  # already filled or cancelled: nothing left to do
            logger.debug("live: cancel {}: {}", cancel.client_order_id, exc.detail)

    async def _restrict(self, key: str, why: str) -> None:
        engine = self.engine
        was = bool(engine.reduce_only)
        if engine.restrict(key, why) and not was:
            await self._announce("warning", f"reduce-only: {why}; protective exits only")

    async def _lift(self, key: str) -> None:
        engine = self.engine
        if engine.lift(key) and not engine.reduce_only:
            await self._announce("info", "reduce-only lifted: new entries allowed again")

    async def _announce(self, severity: Any, message: str) -> None:
        engine, ctx = self.engine, self.ctx
        now = ctx.clock.now_ms()
        reasons = sorted(engine.reduce_only.values())
        await ctx.bus.publish(
            TradingStateChanged(
                ts_ms=now, state=engine.state, reduce_only=bool(reasons), reasons=reasons
            )
        )
        await ctx.bus.publish(
            AlertRaised(
                ts_ms=now, rule="live_trading", severity=severity, message=message, source="live"
            )
        )

    async def stop(self) -> None:
        ctx = self._ctx
        if ctx is not None:
            for sub in self._subs:
                ctx.bus.unsubscribe(sub)
            ctx.services.withdraw(PortfolioSource)
            engine = self.engine_or_none
            if engine is not None and engine.dirty and self._journal is not None:
                with contextlib.suppress(Exception):
                    await self._journal.save_positions(engine.take_dirty(), ctx.clock.now_ms())
        self._subs = []
        if self._metrics is not None:
            with contextlib.suppress(KeyError):
                self._metrics.unregister(self._collector)
            self._metrics = None

    def health(self) -> Health:
        engine = self.engine_or_none
        if engine is None:
            return Health(status="down", detail="not started")
        checks = {"state": engine.state, "positions": len(engine.positions)}
        if engine.reduce_only:
            reasons = "; ".join(sorted(engine.reduce_only.values()))
            return Health(status="degraded", detail=f"reduce-only: {reasons}", checks=checks)
        return Health(status="ok", checks=checks)

    # --- what the routes and the api module ask ------------------------------------------

    @property
    def engine(self) -> LiveEngine:
        if self.engine_or_none is None:
            raise TemporaryError("the live module is not running")
        return self.engine_or_none

    @property
    def ctx(self) -> ModuleContext:
        if self._ctx is None:
            raise TemporaryError("the live module is not running")
        return self._ctx

    def status(self) -> LiveStatus:
        return live_status(
            self.engine, self.params, self.applied, self.ctx.config.trading.timeframe
        )

    async def control(self, action: str, flatten: bool) -> LiveStatus:
        """Start, pause or stop trading (and, on stop, optionally flatten every position)."""
        engine, ctx = self.engine, self.ctx
        states: dict[str, TradingState] = {"start": "running", "pause": "paused", "stop": "stopped"}
        if engine.set_state(states[action]):
            await self._announce("info", f"trading {engine.state}")
        if flatten:
            await self._act(engine.flatten(ctx.clock.now_ms()))
        return self.status()

    def managed(self) -> list[ManagedView]:
        return [managed_view(m) for _, m in sorted(self.engine.positions.items())]

    async def portfolio(self) -> Portfolio:
        exchange = self.ctx.services.maybe(Exchange)
        if exchange is None:
            raise TemporaryError("no exchange is connected")
        balance, positions = await asyncio.gather(
            exchange.fetch_balance(), exchange.fetch_positions()
        )
        engine = self.engine
        return build_portfolio(
            balance,
            positions,
            engine.marks,
            engine.positions,
            self.realized,
            self.ctx.clock.now_ms(),
        )

    async def positions(self) -> list[PositionView]:
        return (await self.portfolio()).positions

    async def place_manual(self, order: ManualOrder, actor: str) -> OrderRequest:
        """A manual order through the risk gate: 422 with the reason when refused."""
        ctx, engine = self.ctx, self.engine
        gate = ctx.services.maybe(RiskGate)
        if gate is None:
            raise ConflictError("the risk module is not running: manual orders are refused")
        if order.symbol not in engine.runners and order.symbol not in engine.price_steps:
            raise ValidationError(f"symbol: unknown symbol {order.symbol!r}", field="symbol")
        price = engine.marks.get(order.symbol)
        if price is None:
            raise ConflictError(f"no price for {order.symbol} yet; try again after a tick")
        now = ctx.clock.now_ms()
        intent = TradeIntent(
            ts_ms=now,
            intent_id=intent_id_for(order.symbol, now, "manual", f"{actor}:{order.side}"),
            symbol=order.symbol,
            side=order.side,
            purpose="exit" if order.reduce_only else "entry",
            price=price,
            stop_loss=order.stop_loss,
            strategy="manual",
            reason=f"manual by {actor}",
        )
        amount = None if order.reduce_only else Decimal(order.amount)
        request = await gate.place(intent, amount=amount, leverage=order.leverage)
        if self._journal is not None:
            await self._journal.intent(intent, now)
        return request
