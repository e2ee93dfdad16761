"""The exchange module: provides `Exchange` (the paper exchange, or a real one through ccxt).

Paper mode feeds the bus's market data (`Ticker`, `CandleClosed`, in publish order) to the
paper engine. Live and demo mode build the ccxt client with credentials from the vault (or the
config) and poll open orders. Either way every order change is published as `ExecutionReported`
through an outbox task, so publishing never waits on this module's own subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from viper.bus import Subscription
from viper.config import ExchangeConfig
from viper.domain import ExchangeOrder, Fill
from viper.errors import ConflictError, ViperError
from viper.events import (
    BaseEvent,
    CandleClosed,
    ExchangeConnectionChanged,
    ExecutionReported,
    SecretRotated,
    Ticker,
)
from viper.metrics import BreakerMetrics
from viper.modules.base import Health, HealthState, ModuleContext
from viper.modules.exchange.credentials import Credentials, load_credentials
from viper.modules.exchange.gateway import Gateway, Resilience
from viper.modules.exchange.paper import PaperExchange
from viper.modules.exchange.routes import routes
from viper.modules.exchange.state import PaperSettings
from viper.modules.exchange.tracker import OrderTracker, poll
from viper.modules.exchange.views import Account
from viper.protocols import Exchange

if TYPE_CHECKING:
    from viper.modules.exchange.live import CcxtExchange

WATCH_SECONDS = 2.0  # how often a real exchange's open orders are polled
_BREAKER_HEALTH: dict[str, HealthState] = {"closed": "ok", "half_open": "degraded", "open": "down"}


class ExchangeModule:
    """Owns the exchange account; serves /exchange/orders, /balance, /positions, /markets."""

    name = "exchange"
    requires: tuple[str, ...] = ()
    after: tuple[str, ...] = ("vault",)  # start after these when they are enabled

    def __init__(
        self, *, watch_seconds: float = WATCH_SECONDS, resilience: Resilience | None = None
    ) -> None:
        self.watch_seconds = watch_seconds
        self.resilience = resilience or Resilience()
        self.paper: PaperExchange | None = None
        self.live: CcxtExchange | None = None
        self.demo_note = ""
        self._ctx: ModuleContext | None = None
        self._credentials: Credentials | None = None
        self._subscription: Subscription | None = None
        self._outbox: asyncio.Queue[ExecutionReported] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.polls = 0

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    @property
    def account(self) -> Account:
        account = self.paper or self.live
        if account is None:
            raise ConflictError("the exchange module is not running")
        return account

    async def start(self, ctx: ModuleContext) -> None:
        self._ctx = ctx
        config = ctx.config.exchange
        self._tasks.append(asyncio.create_task(self._drain_outbox(), name="exchange.outbox"))
        if config.mode == "paper":
            await self._start_paper(ctx, config)
        else:
            await self._start_live(ctx, config)
        ctx.services.provide(Exchange, self.account)

    async def _start_paper(self, ctx: ModuleContext, config: ExchangeConfig) -> None:
        settings = PaperSettings(
            balance=Decimal(str(config.paper_balance)), timeframe=ctx.config.trading.timeframe
        )
        self.paper = await PaperExchange.open(ctx.store, settings, self._report_paper)
        # One subscription for both kinds keeps them in publish order: a deterministic replay.
        self._subscription = ctx.bus.subscribe(
            (Ticker, CandleClosed), self._on_event, name="exchange.paper"
        )
        self.paper.before_order = self._subscription.catch_up

    async def _start_live(self, ctx: ModuleContext, config: ExchangeConfig) -> None:
        self._credentials = await load_credentials(ctx.services, config)
        if not self._credentials.complete:
            ctx.logger.warning(
                "{}: no API key yet; private calls wait for the vault's {}.api_key (or set "
                "BITGET_API_KEY / _SECRET / _PASSWORD)",
                config.id,
                config.id,
            )
        # the ccxt-backed pieces load only in live/demo mode: ccxt costs ~90 MB and a second
        from viper.modules.exchange.client import build_client
        from viper.modules.exchange.live import CcxtExchange

        client, self.demo_note = build_client(config, self._credentials)
        metrics = ctx.services.maybe(BreakerMetrics)

        def on_change(name: str, old: str, new: str) -> None:
            if metrics is not None:
                metrics.on_change(name, old, new)
            if new == "open" or old == "open":  # tell risk, live, sync and alerts
                ctx.bus.publish_nowait(
                    ExchangeConnectionChanged(
                        ts_ms=ctx.clock.now_ms(),
                        exchange=config.id,
                        connected=new != "open",
                        reason=f"circuit {name} {old} -> {new}",
                    )
                )

        gateway = Gateway(
            config.id,
            clock=ctx.clock,
            settings=self.resilience,
            on_change=on_change,
            refresh=self._refresh_credentials,
        )
        if metrics is not None:
            metrics.state.labels(gateway.breaker.name).set(0)
        tracker = OrderTracker(self._report_live)
        self.live = CcxtExchange(client, gateway, tracker, market_type=config.market_type)
        try:
            await self.live.markets()
        except ViperError as exc:  # start anyway: health says degraded, calls retry later
            ctx.logger.warning("{}: markets not loaded at start: {}", config.id, exc.detail)
        self._subscription = ctx.bus.subscribe(
            SecretRotated, self._on_rotated, name="exchange.credentials"
        )
        self._tasks.append(asyncio.create_task(self._watch(), name="exchange.watcher"))

    async def _refresh_credentials(self) -> bool:
        """Read the credentials again (the vault may have rotated them); True if they changed."""
        if self._ctx is None or self.live is None or self._credentials is None:
            return False
        fresh = await load_credentials(self._ctx.services, self._ctx.config.exchange)
        if fresh.same_as(self._credentials):
            return False
        from viper.modules.exchange.client import apply_credentials

        apply_credentials(self.live.client, fresh)
        self._credentials = fresh
        self._ctx.logger.info("{}: API credentials loaded from the {}", self.live.id, fresh.source)
        return True

    async def _on_rotated(self, event: SecretRotated) -> None:
        if self.live is not None and event.name.startswith(f"{self.live.id}."):
            await self._refresh_credentials()

    # --- events in and out ---------------------------------------------------------------

    async def _on_event(self, event: BaseEvent) -> None:
        paper = self.paper
        if paper is None:
            return
        match event:
            case Ticker(symbol=symbol, last=last, bid=bid, ask=ask, ts_ms=ts_ms):
                await paper.on_ticker(symbol, last, bid, ask, ts_ms)
            case CandleClosed(symbol=symbol, timeframe=timeframe, candle=candle, ts_ms=ts_ms):
                await paper.on_candle(symbol, timeframe, candle, ts_ms)

    def _report_paper(self, ts_ms: int, order: ExchangeOrder, fill: Fill | None) -> None:
        self._outbox.put_nowait(
            ExecutionReported(ts_ms=ts_ms, exchange="paper", order=order, fill=fill)
        )

    async def _report_live(self, order: ExchangeOrder, fill: Fill | None) -> None:
        if self._ctx is None or self.live is None:
            return
        ts_ms = order.ts_ms or self._ctx.clock.now_ms()
        self._outbox.put_nowait(
            ExecutionReported(ts_ms=ts_ms, exchange=self.live.id, order=order, fill=fill)
        )

    async def _drain_outbox(self) -> None:
        while True:
            event = await self._outbox.get()
            if self._ctx is not None:
                await self._ctx.bus.publish(event)
            self._outbox.task_done()

    async def _watch(self) -> None:
        """Poll the real exchange's orders and report what changed, until cancelled."""
        if self._ctx is None or self.live is None:
            return
        while True:
            try:
                await poll(self.live, self.live.tracker)
                self.polls += 1
            except ViperError as exc:
                self._ctx.logger.warning("order watch failed: {}", exc.detail)
            except Exception:
                self._ctx.logger.exception("order watch failed unexpectedly")
            await self._ctx.clock.sleep(self.watch_seconds)

    # --- lifecycle -----------------------------------------------------------------------

    async def stop(self) -> None:
        ctx = self._ctx
        if ctx is not None:
            ctx.services.withdraw(Exchange)
            if self._subscription is not None:
                ctx.bus.unsubscribe(self._subscription)
                self._subscription = None
        watcher = [t for t in self._tasks if t.get_name() != "exchange.outbox"]
        await _cancel(watcher)
        if self._tasks:  # let reports already made reach the bus, briefly
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), timeout=2.0)
        await _cancel(self._tasks)
        self._tasks = []
        if self.live is not None:
            await self.live.close()
            self.live = None
        self.paper = None

    def health(self) -> Health:
        if self.paper is not None:
            engine = self.paper.engine
            checks = {
                "mode": "paper",
                "open_orders": len(engine.open_orders()),
                "positions": len(engine.ledger.positions),
                "market_time_ms": engine.now_ms,
                "reports_queued": self._outbox.qsize(),
            }
            return Health(status="ok", checks=checks)
        if self.live is None:
            return Health(status="down", detail="not started")
        breaker = self.live.gateway.breaker
        state = breaker.state
        checks = {
            "mode": self._ctx.config.exchange.mode if self._ctx else "",
            "exchange": self.live.id,
            "demo": self.demo_note,
            "credentials": self._credentials.source if self._credentials else "",
            "circuit": breaker.stats(),
            "retries": self.live.gateway.retries,
            "polls": self.polls,
            "tracked_open_orders": len(self.live.tracker.open()),
        }
        status = _BREAKER_HEALTH[state]
        detail = "" if state == "closed" else f"circuit {state}"
        if self._credentials is None or not self._credentials.complete:
            status, detail = ("down" if status == "down" else "degraded"), "no API credentials"
        return Health(status=status, detail=detail, checks=checks)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
