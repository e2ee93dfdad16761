"""Live trading path benchmarks: signal to order submitted, and orders per second end to end.

The real app (exchange in paper mode, order, risk, signal, live) on a SQLite file in tmp_path.
Latency: one `TradeIntent` at a time (what the live engine sends on a signal; entries and exits
in turn), each after the previous order filled, until the risk manager publishes the
`OrderRequest` (the gate) and until the paper exchange receives the order (gate + order journal
+ send). Throughput: waves of
entries on distinct symbols, then exits, pipelined, until every order has filled (risk,
lifecycle, paper exchange, position updates).

Targets (issue: live trading): p99 < 2 ms signal to submitted; >= 1,000 orders/s.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_config
from tests.performance.conftest import Report
from viper.app import ViperApp
from viper.events import OrderRequest, PositionChanged, Ticker, TradeIntent
from viper.protocols import Exchange

LATENCY_ORDERS = 1_000
WAVES, WAVE_SYMBOLS = 10, 100
PRICE = 100.0


def _config(tmp_path: Path) -> Any:
    return make_config(
        tmp_path,
        modules={"enabled": ["exchange", "order", "risk", "signal", "live"]},
        risk={
            "risk_per_trade": 0.001,
            "max_open_positions": 100_000,
            "max_total_exposure": 1_000.0,
            "max_notional_per_symbol": 1e12,
        },
        exchange={"paper_balance": 1e9},
        order={"poll_seconds": 60.0},
        live={"autostart": False},
    )


def _intent(symbol: str, n: int, purpose: str = "entry") -> TradeIntent:
    return TradeIntent(
        ts_ms=1_700_000_000_000,
        intent_id=f"bench-{purpose}-{n}",
        symbol=symbol,
        side="buy" if purpose == "entry" else "sell",
        purpose=purpose,  # type: ignore[arg-type]
        price=PRICE,
        stop_loss=PRICE * 0.5,  # a far stop: small positions, margin for thousands of them
        strategy="bench",
    )


class Submissions:
    """Wraps the paper exchange's create_order to time when each order arrives there."""

    def __init__(self, exchange: Any) -> None:
        self.at: dict[str, float] = {}
        self.arrived = asyncio.Event()
        original = exchange.create_order

        async def create_order(**kwargs: Any) -> Any:
            self.at[kwargs["client_order_id"]] = time.perf_counter()
            self.arrived.set()
            return await original(**kwargs)

        exchange.create_order = create_order


async def _prices(app: ViperApp, symbols: list[str]) -> None:
    """A price for each symbol, and wait until the paper exchange lists them all."""
    for symbol in symbols:
        tick = Ticker(ts_ms=1_700_000_000_000, exchange="paper", symbol=symbol, last=PRICE)
        await app.bus.publish(tick)
    exchange = app.services.get(Exchange)
    for _ in range(1_200):  # a minute at most
        if set(symbols) <= set(await exchange.markets()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the paper exchange did not list every symbol")


async def _latency(app: ViperApp, seen: Submissions) -> tuple[list[float], list[float]]:
    """(intent -> OrderRequest, intent -> order at the exchange) in ms, one order at a time:
    entries and exits in turn on one symbol, each sent once the previous one has filled."""
    symbol = "L/USDT:USDT"
    await _prices(app, [symbol])
    approved: dict[str, float] = {}
    settled = asyncio.Event()

    async def on_request(event: OrderRequest) -> None:
        approved[event.intent_id] = time.perf_counter()

    async def on_position(event: PositionChanged) -> None:
        settled.set()

    app.bus.subscribe(OrderRequest, on_request, name="bench.requests")
    app.bus.subscribe(PositionChanged, on_position, name="bench.settled")
    gate, submitted = [], []
    for n in range(LATENCY_ORDERS):
        seen.arrived.clear()
        settled.clear()
        intent = _intent(symbol, n, "entry" if n % 2 == 0 else "exit")
        started = time.perf_counter()
        await app.bus.publish(intent)
        await asyncio.wait_for(seen.arrived.wait(), 5.0)
        submitted.append((time.perf_counter() - started) * 1000)
        await asyncio.wait_for(settled.wait(), 5.0)
        await asyncio.sleep(0.002)  # the fill's journal writes finish: a steady state
        gate.append((approved[intent.intent_id] - started) * 1000)
    return gate, submitted


async def _throughput(app: ViperApp) -> float:
    symbols = [f"T{i}/USDT:USDT" for i in range(WAVE_SYMBOLS)]
    await _prices(app, symbols)
    filled = {"n": 0}
    done = asyncio.Event()
    target = {"n": 0}

    async def on_position(event: PositionChanged) -> None:
        filled["n"] += 1  # one journal position change per (whole) fill
        if filled["n"] >= target["n"]:
            done.set()

    app.bus.subscribe(PositionChanged, on_position, name="bench.fills")
    started = time.perf_counter()
    for wave in range(WAVES):
        purpose = "entry" if wave % 2 == 0 else "exit"
        target["n"] += WAVE_SYMBOLS
        done.clear()
        for i, symbol in enumerate(symbols):
            await app.bus.publish(
                _intent(symbol, LATENCY_ORDERS + wave * WAVE_SYMBOLS + i, purpose)
            )
        await asyncio.wait_for(done.wait(), 60.0)
    return target["n"] / (time.perf_counter() - started)


@pytest.mark.timeout(300)
def test_bench_live_signal_to_order_and_orders_per_second(tmp_path: Path, report: Report) -> None:
    async def run() -> tuple[list[float], list[float], float, int]:
        app = ViperApp(_config(tmp_path))
        async with app.running():
            app.settle()  # as `viper run` does once it serves
            seen = Submissions(app.services.get(Exchange))
            gate, submitted = await _latency(app, seen)
            rate = await _throughput(app)
            rows = await app.store.execute("SELECT count(*) FROM orders WHERE state = 'filled'")
        return gate, submitted, rate, int(rows[0][0])

    gate, submitted, rate, filled = asyncio.run(run())
    for name, samples in (
        ("signal to risk-approved order", gate),
        ("signal to order submitted", submitted),
    ):
        p50, p99 = statistics.median(samples), statistics.quantiles(samples, n=100)[98]
        report.add(f"live: {name} p50 (paper)", p50, "ms")
        report.add(f"live: {name} p99 (paper)", p99, "ms", "< 2 ms", p99 < 2.0)
    report.add(
        "live: orders/s through risk, lifecycle and paper",
        rate,
        "orders/s",
        ">= 1000",
        rate >= 1000,
    )
    assert filled == LATENCY_ORDERS + WAVES * WAVE_SYMBOLS, filled
