"""The monitoring module's Prometheus series, read at scrape time from its running figures.

Names follow the original monitoring service: `viper_trades_total`, `viper_win_rate`,
`viper_risk_score`; the per-module ones are new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from viper.modules.monitoring.exchange import ExchangeStats
from viper.modules.monitoring.orders import OrderStates
from viper.modules.monitoring.trades import TradeStats

# Families this module exports (the latency histogram is registered beside the collector).
EXPORTED: tuple[str, ...] = (
    "viper_trades",
    "viper_fills",
    "viper_win_rate",
    "viper_realized_pnl",
    "viper_risk_score",
    "viper_orders",
    "viper_exchange_errors",
    "viper_exchange_connected",
    "viper_jobs",
)


class MonitoringCollector(Collector):
    """Trades, win rate, risk score, orders by state, exchange errors and jobs."""

    def __init__(
        self,
        trades: TradeStats,
        orders: OrderStates,
        exchange: ExchangeStats,
        risk_score: Callable[[], float | None],
        jobs: Callable[[], dict[str, dict[str, int]]],
    ) -> None:
        self._trades = trades
        self._orders = orders
        self._exchange = exchange
        self._risk_score = risk_score
        self._jobs = jobs

    def collect(self) -> Iterator[Metric]:
        yield from self._trade_families()
        score = GaugeMetricFamily(
            "viper_risk_score", "Risk score 0..100: use of the most used risk limit"
        )
        value = self._risk_score()
        if value is not None:
            score.add_metric([], value)
        yield score
        orders = GaugeMetricFamily(
            "viper_orders",
            "Orders by state: working ones now, final ones since start",
            labels=["state"],
        )
        for state, count in self._orders.counts().items():
            orders.add_metric([state], count)
        yield orders
        yield from self._exchange_families()
        jobs = GaugeMetricFamily(
            "viper_jobs", "Backtest and optimizer jobs by state", labels=["kind", "state"]
        )
        for kind, states in sorted(self._jobs().items()):
            for state, count in sorted(states.items()):
                jobs.add_metric([kind, state], count)
        yield jobs

    def _trade_families(self) -> Iterator[Metric]:
        stats = self._trades
        trades = CounterMetricFamily(
            "viper_trades",
            "Closed trades (positions closed) by symbol and entry side",
            labels=["symbol", "side"],
        )
        for (symbol, side), count in sorted(stats.trades.items()):
            trades.add_metric([symbol, side], count)
        fills = CounterMetricFamily(
            "viper_fills", "Order fills by symbol and side", labels=["symbol", "side"]
        )
        for (symbol, side), count in sorted(stats.fills.items()):
            fills.add_metric([symbol, side], count)
        win_rate = GaugeMetricFamily(
            "viper_win_rate", "Share of closed trades with a positive realized PnL"
        )
        if stats.win_rate is not None:
            win_rate.add_metric([], stats.win_rate)
        pnl = GaugeMetricFamily(
            "viper_realized_pnl", "Realized PnL of the trades closed since start, net of fees"
        )
        pnl.add_metric([], stats.realized_pnl)
        yield from (trades, fills, win_rate, pnl)

    def _exchange_families(self) -> Iterator[Metric]:
        stats = self._exchange
        errors = CounterMetricFamily(
            "viper_exchange_errors",
            "Exchange errors: failed calls, rejected orders, disconnections",
            labels=["exchange", "kind"],
        )
        for (exchange, kind), count in sorted(stats.errors.items()):
            errors.add_metric([exchange, kind], count)
        connected = GaugeMetricFamily(
            "viper_exchange_connected", "1 while the exchange is reachable", labels=["exchange"]
        )
        for exchange, up in sorted(stats.connected.items()):
            connected.add_metric([exchange], 1.0 if up else 0.0)
        yield from (errors, connected)
