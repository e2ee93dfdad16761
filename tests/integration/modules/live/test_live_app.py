"""The live module in the real app with the paper exchange: control, reduce-only, portfolio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_config
from tests.integration.modules.order.helpers import BTC, client_for, eventually, ticker
from viper.app import ViperApp
from viper.events import (
    AlertRaised,
    BaseEvent,
    ExchangeConnectionChanged,
    MarketDataResumed,
    MarketDataStale,
    TradingStateChanged,
)

MODULES = ["api", "exchange", "order", "risk", "signal", "live"]


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    viper = ViperApp(make_config(tmp_path, modules={"enabled": MODULES}))
    async with viper.running():
        await viper.bus.publish(ticker(viper, 60_000.0))
        yield viper


def recorder(app: ViperApp, *kinds: type[BaseEvent]) -> list[BaseEvent]:
    seen: list[BaseEvent] = []

    async def record(event: BaseEvent) -> None:
        seen.append(event)

    for kind in kinds:
        app.bus.subscribe(kind, record, name=f"test.{kind.__name__}")
    return seen


def has(seen: list[BaseEvent], check: Any) -> Any:
    async def found() -> bool:
        return any(check(e) for e in seen)

    return found


async def test_start_pause_and_stop_trading(app: ViperApp) -> None:
    seen = recorder(app, TradingStateChanged)
    async with client_for(app) as http:
        paused = (await http.post("/live/trade", json={"action": "pause"})).json()
        stopped = (await http.post("/live/trade", json={"action": "stop"})).json()
        bad = await http.post("/live/trade", json={"action": "explode"})
        started = (await http.post("/live/trade", json={"action": "start"})).json()
        status = (await http.get("/live/trade")).json()

    assert (paused["state"], stopped["state"], started["state"]) == ("paused", "stopped", "running")
    assert bad.status_code == 422 and bad.json()["field"] == "action"
    assert status["strategy"] == "viper" and status["symbols"] == app.config.trading.symbols
    assert status["params"]["threshold"] == app.config.signal.threshold
    await eventually(has(seen, lambda e: e.state == "running"), what="TradingStateChanged")


async def test_stale_market_data_and_a_lost_exchange_switch_to_reduce_only(app: ViperApp) -> None:
    seen = recorder(app, AlertRaised, TradingStateChanged)
    now = app.clock.now_ms()
    await app.bus.publish(
        MarketDataStale(ts_ms=now, source="replay", symbol=BTC, silent_seconds=200)
    )
    await app.bus.publish(
        ExchangeConnectionChanged(
            ts_ms=now, exchange="paper", connected=False, reason="circuit open"
        )
    )
    await eventually(has(seen, lambda e: isinstance(e, AlertRaised)), what="alert")
    async with client_for(app) as http:
        restricted = (await http.get("/live/trade")).json()
        health = (await http.get("/live/health")).json()
        await app.bus.publish(MarketDataResumed(ts_ms=now, source="replay", symbol=BTC))
        await app.bus.publish(
            ExchangeConnectionChanged(ts_ms=now, exchange="paper", connected=True)
        )
        await eventually(
            has(seen, lambda e: isinstance(e, TradingStateChanged) and not e.reduce_only),
            what="reduce-only lifted",
        )
        lifted = (await http.get("/live/trade")).json()

    assert restricted["reduce_only"] and len(restricted["reasons"]) == 2
    assert health["health"]["status"] == "degraded"
    assert any(isinstance(e, AlertRaised) and e.severity == "warning" for e in seen)
    assert not lifted["reduce_only"] and lifted["reasons"] == []


async def test_a_manual_position_shows_in_portfolio_and_positions(app: ViperApp) -> None:
    async with client_for(app) as http:
        await eventually(_price_known(app), what="price known")
        placed = await http.post(
            "/live/orders", json={"symbol": BTC, "side": "buy", "amount": "0.01"}
        )
        await eventually(_one_position(http), what="position")
        await app.bus.publish(ticker(app, 61_000.0))
        await eventually(_marked(http, 61_000.0), what="marked")
        await eventually(_managed(http), what="the engine holds it")
        portfolio = (await http.get("/api/portfolio")).json()
        managed = (await http.get("/live/positions")).json()["positions"]
        orders = (await http.get("/order/orders")).json()

    assert placed.status_code == 202
    (position,) = portfolio["positions"]
    assert position["symbol"] == BTC and position["direction"] == "long"
    assert position["unrealized_pnl"] == pytest.approx(0.01 * (61_000.0 - 60_000.0), rel=0.01)
    assert portfolio["equity"] > 0 and portfolio["unrealized_pnl"] == position["unrealized_pnl"]
    assert [(m["symbol"], m["state"], m["adopted"]) for m in managed] == [(BTC, "open", True)]
    assert orders["total"] == 1


def _price_known(app: ViperApp) -> Any:
    async def check() -> bool:
        return BTC in app.modules["live"].engine.marks  # type: ignore[attr-defined]

    return check


def _one_position(http: Any) -> Any:
    async def check() -> bool:
        return (await http.get("/api/positions")).json()["count"] == 1

    return check


def _marked(http: Any, price: float) -> Any:
    async def check() -> bool:
        body = (await http.get("/api/positions")).json()["positions"]
        return bool(body) and body[0]["mark_price"] == price

    return check


def _managed(http: Any) -> Any:
    async def check() -> bool:
        return (await http.get("/live/positions")).json()["count"] == 1

    return check


def _trades(app: ViperApp, threshold: float, symbols: list[str]) -> Any:
    async def check() -> bool:
        async with client_for(app) as http:
            status = (await http.get("/live/trade")).json()
        return all(status["symbol_params"][s]["threshold"] == threshold for s in symbols)

    return check


async def _apply(http: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> Any:
    return await http.post("/optimizer/parameters/apply", json=body, headers=headers)


async def test_applied_parameters_trade_at_once_and_after_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path, modules={"enabled": [*MODULES, "data", "optimizer"]})
    symbols, configured = config.trading.symbols, config.signal.threshold
    others = [s for s in symbols if s != BTC]
    async with ViperApp(config).running() as first:
        seen = recorder(first, AlertRaised)
        async with client_for(first) as http:
            wrong = await _apply(http, {"strategy": "viper", "parameters": {"threshold": 170}})
            other = await _apply(
                http, {"strategy": "sma_cross", "parameters": {"fast": 5, "slow": 20}}
            )
            applied = await _apply(
                http,
                {"strategy": "viper", "parameters": {"threshold": 71.5}, "symbol": BTC},
                **{"X-Actor": "alice"},
            )
            await eventually(_trades(first, 71.5, [BTC]), what="BTC trades the applied set")
            status = (await http.get("/live/trade")).json()
    assert wrong.status_code == 422 and "threshold" in wrong.json()["field"]
    assert other.status_code == 200 and applied.status_code == 200, applied.text
    assert status["params"]["threshold"] == configured  # the configured set, as before
    for symbol in others:  # neither the BTC-only set nor sma_cross's reach them
        assert status["symbol_params"][symbol]["threshold"] == configured
    assert list(status["applied"]) == [BTC] and status["applied"][BTC]["actor"] == "alice"
    assert any(
        isinstance(e, AlertRaised) and BTC in e.message and "next bar" in e.message for e in seen
    )

    # a restart reads them back from the audit table
    async with ViperApp(config).running() as second, client_for(second) as http:
        restarted = (await http.get("/live/trade")).json()
        await _apply(http, {"strategy": "viper", "parameters": {"threshold": 64.0}})
        await eventually(_trades(second, 64.0, symbols), what="the newer '*' set everywhere")
    assert restarted["symbol_params"][BTC]["threshold"] == 71.5
    assert restarted["applied"][BTC]["actor"] == "alice"
    assert all(restarted["symbol_params"][s]["threshold"] == configured for s in others)
