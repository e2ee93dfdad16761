"""The risk module: every TradeIntent passes the pre-trade gate; the kill switch watches equity.

It answers each `TradeIntent` with an `OrderRequest` or a `TradeRejected`, holds positions as
the order journal's `PositionChanged` reports them, reads the equity from the exchange at each
bar close and after fills (the whole account on a timer), applies the daily loss limit and the
drawdown kill switch to it, and provides `RiskGate` and `RiskStatusSource`.
The exchange and the sync module's `TradingGate` are looked up when needed, so the risk module
starts before or without them (no exchange: every intent is refused).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from loguru import logger
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute

from viper.bus import EventBus, Subscription
from viper.config import RiskConfig
from viper.domain import TERMINAL_ORDER_STATES
from viper.errors import RiskError, TemporaryError, ViperError
from viper.events import (
    BaseEvent,
    CandleClosed,
    OrderFilled,
    OrderRequest,
    OrderUpdated,
    PositionChanged,
    Ticker,
    TradeIntent,
)
from viper.modules.base import Health, ModuleContext
from viper.modules.risk.gate import Approval
from viper.modules.risk.limits import limits_dict
from viper.modules.risk.manager import RiskManager
from viper.modules.risk.routes import routes
from viper.modules.risk.store import AuditEntry, RiskStore
from viper.protocols import Exchange, RiskGate, RiskStatus, RiskStatusSource, TradingGate

REFRESH_SECONDS = 5.0  # account refresh period when nothing happens
FIELD_OF_REASON = {"unknown_symbol": "symbol", "leverage": "leverage", "invalid_input": "amount"}


class RiskCollector(Collector):
    """Prometheus figures of the risk manager, read at scrape time."""

    def __init__(self, module: RiskModule) -> None:
        self._module = module

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        manager = self._module.manager_or_none
        approved = CounterMetricFamily("viper_risk_approved", "Intents approved")
        refused = CounterMetricFamily("viper_risk_rejected", "Intents refused", labels=["reason"])
        halted = GaugeMetricFamily("viper_risk_halted", "1 while the kill switch holds")
        drawdown = GaugeMetricFamily("viper_risk_drawdown", "Drawdown from the equity peak")
        if manager is not None:
            approved.add_metric([], manager.approved)
            for reason, count in manager.refused.items():
                refused.add_metric([reason], count)
            status = manager.status()
            halted.add_metric([], 1.0 if status.halted else 0.0)
            drawdown.add_metric([], status.drawdown)
        yield from (approved, refused, halted, drawdown)


class RiskModule:
    """Risk manager: the pre-trade gate, limits and kill switch, at /risk."""

    name = "risk"
    requires: tuple[str, ...] = ()

    def __init__(self, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.refresh_seconds = refresh_seconds
        self.manager_or_none: RiskManager | None = None
        self._store: RiskStore | None = None
        self._ctx: ModuleContext | None = None
        self._subs: list[Subscription] = []
        self._task: asyncio.Task[None] | None = None
        self._collector = RiskCollector(self)
        self._metrics: CollectorRegistry | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        self._ctx, self._store = ctx, RiskStore(ctx.store)
        await self._store.migrate()
        state = await self._store.load()
        if state.limits is not None and state.limits != ctx.config.risk:
            logger.warning("risk limits changed over the API are in force: {}", state.limits)
        if state.kill_switch.halted:
            logger.warning("the kill switch holds since a previous run: {}", state.kill_switch)
        services = ctx.services
        self.manager_or_none = RiskManager(
            limits=state.limits or ctx.config.risk,
            state=state,
            store=self._store,
            clock=ctx.clock,
            exchange=lambda: services.maybe(Exchange),
            trading_gate=lambda: services.maybe(TradingGate),
        )
        self._subscribe(ctx.bus)
        services.provide(RiskGate, self)
        services.provide(RiskStatusSource, self)
        ctx.metrics.register(self._collector)
        self._metrics = ctx.metrics
        self._task = asyncio.create_task(self._refresher(), name="risk.account")

    def _subscribe(self, bus: EventBus) -> None:
        # One subscription for every input keeps them in publish order: a fill's position is
        # held before its order ends, and an intent sees every fill published before it.
        inputs = (TradeIntent, PositionChanged, OrderFilled, OrderUpdated, Ticker, CandleClosed)
        self._subs = [bus.subscribe(inputs, self._on_event, name="risk.events")]

    async def _on_event(self, event: BaseEvent) -> None:
        manager = self.manager
        match event:
            case TradeIntent():
                await self._publish(await manager.handle(event))
            case PositionChanged(position=position):
                manager.position_changed(position)
            case OrderFilled():
                manager.account_changed()
            case OrderUpdated(order=order) if order.state in TERMINAL_ORDER_STATES:
                manager.settled(order.client_order_id)
            case Ticker(symbol=symbol, last=last, ts_ms=ts_ms):
                manager.account.mark(symbol, last)
                manager.note_market_time(ts_ms)
            case CandleClosed(ts_ms=ts_ms):
                await self._bar_closed(ts_ms)

    async def _bar_closed(self, ts_ms: int) -> None:
        """Equity rules at every bar close, as the backtester applies them."""
        try:
            await self._publish(await self.manager.catch_up(ts_ms))
        except ViperError as exc:  # the exchange may be down: the timer retries
            logger.warning("risk: account refresh failed: {}", exc.detail)

    async def _refresher(self) -> None:
        """Re-read the whole account every `refresh_seconds` (real time: a test clock would spin
        here) and apply the equity rules; between bars, fills and intents this is all there is."""
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self._publish(await self.manager.refresh())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the exchange may be down: keep the last view, retry
                logger.warning("risk: account refresh failed: {}", exc)

    async def _publish(self, events: list[BaseEvent]) -> None:
        if self._ctx is not None:
            for event in events:
                await self._ctx.bus.publish(event)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._ctx is not None:
            for sub in self._subs:
                self._ctx.bus.unsubscribe(sub)
            self._ctx.services.withdraw(RiskGate)
            self._ctx.services.withdraw(RiskStatusSource)
        self._subs = []
        if self._metrics is not None:
            with contextlib.suppress(KeyError):
                self._metrics.unregister(self._collector)
            self._metrics = None

    def health(self) -> Health:
        manager = self.manager_or_none
        if manager is None:
            return Health(status="down", detail="not started")
        kill = manager.kill  # not the whole status: /health is polled often
        checks = {
            "halted": kill.halted,
            "daily_blocked": manager.day.blocked,
            "account_loaded": manager.account.loaded,
            "approved": manager.approved,
            "refused": sum(manager.refused.values()),
        }
        if kill.halted:
            return Health(status="degraded", detail=f"halted: {kill.reason}", checks=checks)
        return Health(status="ok", checks=checks)

    # --- what the routes and other modules ask --------------------------------------------

    @property
    def manager(self) -> RiskManager:
        if self.manager_or_none is None:
            raise TemporaryError("the risk module is not running")
        return self.manager_or_none

    def risk_status(self) -> RiskStatus:
        return self.manager.status()

    async def place(
        self, intent: TradeIntent, *, amount: Decimal | None = None, leverage: int | None = None
    ) -> OrderRequest:
        """RiskGate: approve and publish `intent`'s order, or raise RiskError with the reason."""
        manager = self.manager
        events, outcome = await manager.evaluate(intent, amount=amount, leverage=leverage)
        await self._publish(events)
        if isinstance(outcome, Approval):
            request = manager.approve(intent, outcome)
            await self._publish([request])
            return request
        await self._publish([await manager.refuse(intent, outcome)])
        field = FIELD_OF_REASON.get(outcome.reason)
        raise RiskError(outcome.detail, field=field, reason=outcome.reason)

    def limits(self) -> RiskConfig:
        return self.manager.limits

    def limits_view(self) -> dict[str, Any]:
        return limits_dict(self.manager.limits)

    async def set_limits(self, changes: Mapping[str, Any], actor: str) -> RiskConfig:
        await self._publish(await self.manager.set_limits(changes, actor))
        return self.manager.limits

    async def trip(self, reason: str, actor: str) -> RiskStatus:
        """Trip the kill switch by hand: refresh positions, flatten them, halt."""
        with contextlib.suppress(Exception):
            await self.manager.account.refresh(*self._exchange_and_now())
        await self._publish(await self.manager.trip(reason or "tripped by hand", actor))
        return self.manager.status()

    async def resume(self, reason: str, actor: str) -> RiskStatus:
        with contextlib.suppress(Exception):
            await self.manager.account.refresh(*self._exchange_and_now())
        await self._publish(await self.manager.resume(actor, reason))
        return self.manager.status()

    def _exchange_and_now(self) -> tuple[Exchange, int]:
        if self._ctx is None:
            raise TemporaryError("the risk module is not running")
        return self._ctx.services.get(Exchange), self._ctx.clock.now_ms()

    async def audit(self, limit: int) -> list[AuditEntry]:
        if self._store is None:
            raise TemporaryError("the risk module is not running")
        return await self._store.audits(limit)
