"""The sync module in the real app, with the paper exchange: routes, adoption, the gate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.modules.order.helpers import (
    BTC,
    app_config,
    client_for,
    eventually,
    order_request,
    order_state,
    ticker,
)
from viper.app import ViperApp
from viper.events import AlertRaised, ExchangeConnectionChanged, PositionDesynced
from viper.protocols import Exchange, TradingGate


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    viper = ViperApp(app_config(tmp_path, sync={"interval_seconds": 30.0}))
    async with viper.running():
        await viper.bus.publish(ticker(viper, 50_000.0))
        yield viper


async def gate_open(app: ViperApp) -> bool:
    return app.services.get(TradingGate).entries_allowed()[0]


async def test_sync_route_runs_now_and_positions_route_shows_the_diff(app: ViperApp) -> None:
    await app.bus.publish(order_request("m1", order_type="market", price=None, amount="0.03"))

    async def filled() -> bool:
        rows = await app.store.execute("SELECT size FROM positions WHERE symbol = ?", (BTC,))
        return await order_state(app, "m1") == "filled" and bool(rows)

    await eventually(filled, what="m1 filled and journaled")
    async with client_for(app) as http:
        run = (await http.post("/sync/sync")).json()
        status = (await http.get("/sync/positions")).json()
    assert run["ok"] is True and run["discrepancies"] == []
    assert status["entries_allowed"] is True and status["reason"] == ""
    [btc] = status["last"]["positions"]
    assert btc["symbol"] == BTC and btc["matched"] is True
    assert Decimal(btc["exchange_size"]) == Decimal(btc["journal_size"]) == Decimal("0.03")
    assert status["last"]["finished_ms"] >= run["started_ms"]


async def test_adopts_a_position_opened_outside_viper(app: ViperApp) -> None:
    seen: list[object] = []

    async def keep(event: object) -> None:
        seen.append(event)

    app.bus.subscribe(AlertRaised, keep, name="test.alerts")
    app.bus.subscribe(PositionDesynced, keep, name="test.desynced")
    await app.services.get(Exchange).create_order(
        client_order_id="manual-1", symbol=BTC, side="sell", type="market", amount=Decimal("0.05")
    )
    async with client_for(app) as http:
        first = (await http.post("/sync/sync")).json()

        async def adopted() -> bool:
            rows = await app.store.execute(
                "SELECT size, adopted FROM positions WHERE symbol = ?", (BTC,)
            )
            return bool(rows) and rows[0] == ("-0.05", 1)

        await eventually(adopted, what="position adopted")
        second = (await http.post("/sync/sync")).json()
    assert first["ok"] is False
    assert [d["kind"] for d in first["discrepancies"]] == ["unknown_position"]
    assert second["ok"] is True
    assert await gate_open(app)
    alerts = [e for e in seen if isinstance(e, AlertRaised)]
    assert [(a.severity, a.rule, a.source) for a in alerts] == [
        ("warning", "sync.unknown_position", "sync")
    ]
    desynced = [e for e in seen if isinstance(e, PositionDesynced)]
    assert desynced[0].action == "adopted" and desynced[0].exchange_size == Decimal("-0.05")


async def test_gate_closes_on_disconnect_and_reopens_after_reconnect(app: ViperApp) -> None:
    async def gate_shut() -> bool:
        return not await gate_open(app)

    await eventually(lambda: gate_open(app), what="first reconciliation")
    now = app.clock.now_ms()
    await app.bus.publish(
        ExchangeConnectionChanged(
            ts_ms=now, exchange="paper", connected=False, reason="circuit open"
        )
    )
    await eventually(gate_shut, what="gate shut")
    allowed, reason = app.services.get(TradingGate).entries_allowed()
    assert (allowed, reason) == (False, "paper disconnected: circuit open")
    async with client_for(app) as http:
        health = (await http.get("/sync/health")).json()
    assert health["health"]["status"] == "degraded"
    await app.bus.publish(ExchangeConnectionChanged(ts_ms=now, exchange="paper", connected=True))
    await eventually(lambda: gate_open(app), what="gate open after reconnect")
