"""The monitoring module: trade, order, exchange and job metrics for Prometheus, and a JSON
summary of the process at /monitoring/metrics (and /api/metrics through `MetricsSummarySource`).

It subscribes to the order flow (`OrderRequest`, `ExecutionReported`, `OrderUpdated`,
`OrderFilled`, `PositionChanged`, `ExchangeConnectionChanged`), registers its collector and
the exchange latency histogram on the app's registry, and provides `MetricsSummarySource`
and `ExchangeCallObserver`. Everything else is read at scrape time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from prometheus_client import Histogram
from starlette.routing import BaseRoute

from viper.bus import EventBus, Subscription
from viper.errors import TemporaryError
from viper.events import (
    ExchangeConnectionChanged,
    ExecutionReported,
    OrderFilled,
    OrderRequest,
    OrderUpdated,
    PositionChanged,
)
from viper.metrics import LATENCY_BUCKETS, rss_bytes
from viper.modules.base import Health, ModuleContext, Services
from viper.modules.monitoring import figures
from viper.modules.monitoring.collector import MonitoringCollector
from viper.modules.monitoring.exchange import ExchangeStats
from viper.modules.monitoring.orders import OrderStates
from viper.modules.monitoring.routes import routes
from viper.modules.monitoring.trades import TradeStats
from viper.protocols import (
    ExchangeCallObserver,
    MetricsSummary,
    MetricsSummarySource,
    RequestFigures,
    RiskStatusSource,
    StatusSource,
)
from viper.runner import ModuleStatus

SUMMARY_SERIES = (
    "viper_http_requests_total",
    "viper_memory_usage",
    "viper_bus_published_total",
    "viper_bus_queue_depth",
    "viper_bus_dropped_total",
    "viper_bus_handler_failures_total",
)


class MonitoringModule:
    """Monitoring service: metrics for Prometheus and a JSON summary, at /monitoring."""

    name = "monitoring"
    requires: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._ctx: ModuleContext | None = None
        self._subs: list[Subscription] = []
        self._registered: list[MonitoringCollector | Histogram] = []
        self._rates: figures.RateWindow | None = None
        self.trades = TradeStats()
        self.orders = OrderStates()
        self.exchange: ExchangeStats | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        self._ctx = ctx
        self.trades, self.orders = TradeStats(), OrderStates()
        latency = Histogram(
            "viper_exchange_latency_seconds",
            "Exchange latency by action: API calls, and order request to first report",
            ["exchange", "action"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        self.exchange = ExchangeStats(
            ctx.clock, lambda ex, action, s: latency.labels(ex, action).observe(s)
        )
        collector = MonitoringCollector(
            self.trades, self.orders, self.exchange, self.risk_score, self.job_counts
        )
        for item in (collector, latency):
            ctx.metrics.register(item)
            self._registered.append(item)
        self._rates = figures.RateWindow(ctx.clock.monotonic())
        self._subscribe(ctx.bus)
        ctx.services.provide(MetricsSummarySource, self)
        ctx.services.provide(ExchangeCallObserver, self.exchange)

    def _subscribe(self, bus: EventBus) -> None:
        exchange, trades, orders = self.exchange, self.trades, self.orders
        if exchange is None:
            return

        async def on_request(event: OrderRequest) -> None:
            exchange.on_request(event.client_order_id)

        async def on_report(event: ExecutionReported) -> None:
            exchange.on_report(event.exchange, event.order)

        async def on_connection(event: ExchangeConnectionChanged) -> None:
            exchange.on_connection(event.exchange, event.connected)

        async def on_order(event: OrderUpdated) -> None:
            orders.on_order(event.order)

        async def on_fill(event: OrderFilled) -> None:
            trades.on_fill(event.fill)

        async def on_position(event: PositionChanged) -> None:
            trades.on_position(event.position)

        self._subs = [
            bus.subscribe(OrderRequest, on_request, name="monitoring.requests"),
            bus.subscribe(ExecutionReported, on_report, name="monitoring.reports"),
            bus.subscribe(ExchangeConnectionChanged, on_connection, name="monitoring.exchange"),
            bus.subscribe(OrderUpdated, on_order, name="monitoring.orders"),
            bus.subscribe(OrderFilled, on_fill, name="monitoring.fills"),
            bus.subscribe(PositionChanged, on_position, name="monitoring.positions"),
        ]

    async def stop(self) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx is None:
            return
        for sub in self._subs:
            ctx.bus.unsubscribe(sub)
        self._subs = []
        for item in self._registered:
            with contextlib.suppress(KeyError):
                ctx.metrics.unregister(item)
        self._registered = []
        ctx.services.withdraw(MetricsSummarySource)
        ctx.services.withdraw(ExchangeCallObserver)

    def health(self) -> Health:
        if self._ctx is None:
            return Health(status="down", detail="not started")
        return Health(
            status="ok",
            checks={
                "trades": self.trades.total,
                "orders_tracked": self.orders.tracked,
            },
        )

    # --- what the collector, the routes and other modules read ----------------------------

    @property
    def ctx(self) -> ModuleContext:
        if self._ctx is None:
            raise TemporaryError("the monitoring module is not running", module="monitoring")
        return self._ctx

    @property
    def services(self) -> Services:
        return self.ctx.services

    def statuses(self) -> list[ModuleStatus]:
        """Every module's status, from the app."""
        return self.services.get(StatusSource).services_status()

    def risk_score(self) -> float | None:
        """0..100 from the risk module's status; None when it is not running."""
        source = self._ctx.services.maybe(RiskStatusSource) if self._ctx else None
        if source is None:
            return None
        try:
            return figures.risk_score(source.risk_status())
        except TemporaryError:
            return None

    def job_counts(self) -> dict[str, dict[str, int]]:
        if self._ctx is None:
            return {}
        return figures.job_counts(self.statuses())

    def metrics_summary(self) -> MetricsSummary:
        """MetricsSummarySource: trades, win rate, risk score, memory, requests, bus, modules."""
        ctx = self.ctx
        samples = figures.read_samples(ctx.metrics, SUMMARY_SERIES)
        statuses = self.statuses()
        requests = figures.total(samples, "viper_http_requests_total")
        rates = self._rates or figures.RateWindow(ctx.clock.monotonic())
        memory = figures.total(samples, "viper_memory_usage") or process_rss()
        return MetricsSummary(
            ts_ms=ctx.clock.now_ms(),
            trades=self.trades.counts(),
            win_rate=self.trades.win_rate,
            risk_score=self.risk_score(),
            memory_bytes=int(memory),
            requests=RequestFigures(
                total=int(requests),
                server_errors=figures.server_errors(samples),
                per_second=rates.rate(ctx.clock.monotonic(), requests),
            ),
            bus=figures.bus_figures(samples),
            modules={s.name: s.state or "created" for s in statuses if s.enabled},
            orders=self.orders.counts(),
            jobs=figures.job_counts(statuses),
        )


def process_rss() -> int:
    """Resident memory of this process, bytes."""
    return rss_bytes()
