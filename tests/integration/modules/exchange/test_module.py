"""The exchange module in a running app: paper trading fed by the bus, `ExecutionReported` out,
the routes, restarts; live mode against the fake Bitget with health following the breaker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_config
from tests.fakes.bitget import Credentials
from tests.fakes.bitget_trading import CREDENTIALS, FakeBitgetTrading
from tests.fakes.bitget_ws import eventually
from tests.integration.modules.exchange.conftest import BTC
from viper.app import ViperApp
from viper.domain import Candle
from viper.events import (
    CandleClosed,
    ExchangeConnectionChanged,
    ExecutionReported,
    SecretRotated,
    Ticker,
)
from viper.modules.exchange.gateway import Resilience
from viper.modules.exchange.module import ExchangeModule
from viper.protocols import Exchange, SecretStore

D = Decimal
T0 = 1_704_067_200_000
ACCOUNTS = "/api/v2/mix/account/accounts"


def http_for(app: ViperApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app.http), base_url="http://viper")


def reports_of(app: ViperApp) -> list[ExecutionReported]:
    got: list[ExecutionReported] = []

    async def keep(event: ExecutionReported) -> None:
        got.append(event)

    app.bus.subscribe(ExecutionReported, keep, name="test:reports")
    return got


@pytest.fixture
async def paper_app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    app = ViperApp(make_config(tmp_path, modules={"enabled": ["exchange"]}))
    async with app.running():
        yield app


async def market(app: ViperApp, price: float, ts: int, low: float | None = None) -> None:
    await app.bus.publish(Ticker(ts_ms=ts, exchange="bitget", symbol=BTC, last=price))
    candle = Candle(
        ts_ms=ts - 60_000,
        open=price,
        high=price + 50,
        low=low or price - 50,
        close=price,
        volume=50.0,
    )
    await app.bus.publish(
        CandleClosed(ts_ms=ts, exchange="bitget", symbol=BTC, timeframe="1m", candle=candle)
    )


async def test_paper_trades_on_bus_market_data_and_reports_every_change(
    paper_app: ViperApp,
) -> None:
    reports = reports_of(paper_app)
    exchange = paper_app.services.get(Exchange)
    module = paper_app.modules["exchange"]
    assert isinstance(module, ExchangeModule) and module.paper is not None
    await market(paper_app, 60000.0, T0)
    await eventually(lambda: module.paper.engine.now_ms == T0)  # type: ignore[union-attr]

    await exchange.create_order(
        client_order_id="m", symbol=BTC, side="buy", type="market", amount=D("0.010")
    )
    await exchange.create_order(
        client_order_id="l",
        symbol=BTC,
        side="buy",
        type="limit",
        amount=D("0.010"),
        price=D("59000"),
    )
    await market(paper_app, 59500.0, T0 + 60_000, low=58000)
    await eventually(lambda: len(reports) == 3)

    # The market order fills on arrival: one report, filled (no "open" one before it).
    assert [(r.order.client_order_id, r.order.status, r.fill is not None) for r in reports] == [
        ("m", "closed", True),
        ("l", "open", False),
        ("l", "closed", True),
    ]
    assert all(r.exchange == "paper" for r in reports)
    assert reports[-1].ts_ms == T0 + 60_000  # market time, not the wall clock
    assert reports[-1].fill is not None and reports[-1].fill.liquidity == "maker"


async def test_an_order_is_priced_after_the_market_data_published_before_it(
    paper_app: ViperApp,
) -> None:
    exchange = paper_app.services.get(Exchange)
    module = paper_app.modules["exchange"]
    assert isinstance(module, ExchangeModule) and module.paper is not None
    await market(paper_app, 60000.0, T0)
    await eventually(lambda: module.paper.engine.now_ms == T0)  # type: ignore[union-attr]
    # Published, not yet handled by the exchange's subscriber when the order arrives.
    paper_app.bus.publish_nowait(
        Ticker(ts_ms=T0 + 60_000, exchange="bitget", symbol=BTC, last=61000.0)
    )
    order = await exchange.create_order(
        client_order_id="m", symbol=BTC, side="buy", type="market", amount=D("0.010")
    )
    assert order.average_price is not None and order.average_price > D("60900")


async def test_routes_list_orders_paginated_balance_positions_markets(paper_app: ViperApp) -> None:
    exchange = paper_app.services.get(Exchange)
    module = paper_app.modules["exchange"]
    await market(paper_app, 60000.0, T0)
    await eventually(lambda: module.paper.engine.now_ms == T0)  # type: ignore[attr-defined]
    for n in range(3):
        await exchange.create_order(
            client_order_id=f"l{n}",
            symbol=BTC,
            side="buy",
            type="limit",
            amount=D("0.010"),
            price=D("59000"),
        )
    await exchange.create_order(
        client_order_id="m", symbol=BTC, side="buy", type="market", amount=D("0.010")
    )

    async with http_for(paper_app) as http:
        first = (await http.get("/exchange/orders", params={"limit": 2})).json()
        second = (await http.get("/exchange/orders", params={"limit": 2, "offset": 2})).json()
        every = (await http.get("/exchange/orders", params={"status": "all"})).json()
        other = (await http.get("/exchange/orders", params={"symbol": "ETH/USDT:USDT"})).json()
        balance = (await http.get("/exchange/balance")).json()
        positions = (await http.get("/exchange/positions")).json()
        markets = (await http.get("/exchange/markets")).json()
        post = await http.post("/exchange/orders", json={"symbol": BTC})
        bad = await http.get("/exchange/orders", params={"status": "maybe"})
        health = (await http.get("/exchange/health")).json()

    assert [o["client_order_id"] for o in first["orders"]] == ["l0", "l1"]
    assert (first["total"], first["next_offset"]) == (3, 2)
    assert [o["client_order_id"] for o in second["orders"]] == ["l2"] and second[
        "next_offset"
    ] is None
    assert [o["client_order_id"] for o in every["orders"]] == ["l0", "l1", "l2", "m"]
    assert other["total"] == 0
    assert balance["exchange"] == "paper" and D(balance["used"]) > 0
    assert positions["positions"][0]["size"] == "0.010"
    assert {m["symbol"] for m in markets["markets"]} >= {BTC, "ETH/USDT:USDT", "SOL/USDT:USDT"}
    assert post.status_code == 405 and post.json()["error"] == "method_not_allowed"
    assert bad.status_code == 422 and bad.json()["field"] == "status"
    assert health["health"]["status"] == "ok" and health["health"]["checks"]["open_orders"] == 3


async def test_the_paper_account_survives_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path, modules={"enabled": ["exchange"]})
    first = ViperApp(config)
    async with first.running():
        module = first.modules["exchange"]
        await market(first, 60000.0, T0)
        await eventually(lambda: module.paper.engine.now_ms == T0)  # type: ignore[attr-defined]
        await first.services.get(Exchange).create_order(
            client_order_id="m", symbol=BTC, side="sell", type="market", amount=D("0.100")
        )
        async with http_for(first) as http:
            before = [
                (await http.get(p)).json() for p in ("/exchange/balance", "/exchange/positions")
            ]

    second = ViperApp(config)
    async with second.running(), http_for(second) as http:
        after = [(await http.get(p)).json() for p in ("/exchange/balance", "/exchange/positions")]

    assert after == before
    assert after[1]["positions"][0]["direction"] == "short"


# --- live mode ---------------------------------------------------------------------------------


def live_app(tmp_path: Path, fake: FakeBitgetTrading, *, watch: float, recovery: float) -> ViperApp:
    exchange = {
        "mode": "live",
        "api_url": fake.url,
        "api_key": CREDENTIALS.key,
        "api_secret": CREDENTIALS.secret,
        "api_password": CREDENTIALS.passphrase,
        "timeout_seconds": 2.0,
    }
    app = ViperApp(make_config(tmp_path, modules={"enabled": ["exchange"]}, exchange=exchange))
    module = app.modules["exchange"]
    assert isinstance(module, ExchangeModule)
    module.watch_seconds = watch
    module.resilience = Resilience(
        attempts=1, failure_threshold=3, recovery_seconds=recovery, burst=100
    )
    return app


async def test_live_health_follows_the_circuit_breaker(tmp_path: Path) -> None:
    async with FakeBitgetTrading() as fake:
        fake.set_price("BTCUSDT", "60000")
        app = live_app(tmp_path, fake, watch=60.0, recovery=0.3)
        module = app.modules["exchange"]
        connection: list[bool] = []

        async def on_connection(event: ExchangeConnectionChanged) -> None:
            connection.append(event.connected)

        app.bus.subscribe(ExchangeConnectionChanged, on_connection, name="test.connection")
        async with app.running(), http_for(app) as http:
            await eventually(lambda: module.polls >= 1)  # type: ignore[attr-defined]
            ok = (await http.get("/exchange/health")).json()
            fake.fail_next(3, 500, path=ACCOUNTS)
            failures = [(await http.get("/exchange/balance")).status_code for _ in range(3)]
            down = await http.get("/exchange/health")
            refused = await http.get("/exchange/balance")
            await asyncio.sleep(0.35)
            half_open = (await http.get("/exchange/health")).json()
            balance = await http.get("/exchange/balance")
            healed = (await http.get("/exchange/health")).json()
            metrics = (await http.get("/metrics")).text
            await eventually(lambda: len(connection) >= 2)

    assert ok["health"]["status"] == "ok" and ok["health"]["checks"]["credentials"] == "config"
    assert failures == [503, 503, 503]
    assert down.status_code == 503 and down.json()["health"]["status"] == "down"
    assert refused.json()["error"] == "circuit_open"
    assert half_open["health"]["status"] == "degraded"
    assert balance.status_code == 200 and D(balance.json()["total"]) == 10_000
    assert healed["health"]["status"] == "ok"
    assert 'viper_circuit_opened_total{breaker="exchange.bitget"} 1.0' in metrics
    assert connection == [False, True]  # risk, live, sync and alerts hear of it


async def test_live_fills_reach_the_bus_through_the_watcher(tmp_path: Path) -> None:
    async with FakeBitgetTrading() as fake:
        fake.set_price("BTCUSDT", "60000")
        app = live_app(tmp_path, fake, watch=0.05, recovery=5.0)
        reports = reports_of(app)
        async with app.running():
            exchange = app.services.get(Exchange)
            await exchange.create_order(
                client_order_id="bid",
                symbol=BTC,
                side="buy",
                type="limit",
                amount=D("0.010"),
                price=D("59000"),
            )
            fake.fill("bid")
            await eventually(lambda: any(r.fill is not None for r in reports))

    assert [(r.order.status, r.fill is not None) for r in reports] == [
        ("open", False),
        ("closed", True),
    ]
    fill = reports[-1].fill
    assert fill is not None and (fill.amount, fill.price) == (D("0.01"), D("59000"))
    assert reports[-1].exchange == "bitget"


class Vault:
    """Stands in for the vault module's SecretStore."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    async def get(self, name: str) -> str | None:
        return self.values.get(name)


def vault_values(creds: Credentials) -> dict[str, str]:
    return {
        "bitget.api_key": creds.key,
        "bitget.api_secret": creds.secret,
        "bitget.api_password": creds.passphrase,
    }


async def test_credentials_come_from_a_vault_that_starts_later_and_follow_rotation(
    tmp_path: Path,
) -> None:
    async with FakeBitgetTrading() as fake:
        fake.set_price("BTCUSDT", "60000")
        exchange = {"mode": "live", "api_url": fake.url, "timeout_seconds": 2.0}  # no keys
        app = ViperApp(make_config(tmp_path, modules={"enabled": ["exchange"]}, exchange=exchange))
        async with app.running(), http_for(app) as http:
            degraded = (await http.get("/exchange/health")).json()["health"]
            vault = Vault(vault_values(CREDENTIALS))
            app.services.provide(SecretStore, vault)  # the vault module comes up after us

            first = await http.get("/exchange/balance")

            rotated = Credentials("new-key", "new-secret", "new-passphrase")
            fake.credentials, vault.values = rotated, vault_values(rotated)
            await app.bus.publish(SecretRotated(ts_ms=0, name="bitget.api_secret", version=2))
            module = app.modules["exchange"]
            await eventually(lambda: module.health().checks["credentials"] == "vault")  # type: ignore[attr-defined]
            await eventually(lambda: module._credentials.api_key.reveal() == "new-key")  # type: ignore[attr-defined]
            second = await http.get("/exchange/balance")
            health = (await http.get("/exchange/health")).json()["health"]

    assert degraded["status"] == "degraded" and degraded["detail"] == "no API credentials"
    assert first.status_code == 200
    assert second.status_code == 200
    assert health["status"] == "ok" and health["checks"]["credentials"] == "vault"
    assert "new-secret" not in str(health)
