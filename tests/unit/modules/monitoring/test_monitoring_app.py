"""Monitoring in a running app: Prometheus names after real bus traffic, the JSON summary at
/monitoring/metrics and /api/metrics, /monitoring/health, and the Grafana dashboard's names."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO, make_config
from tests.fakes.bitget_ws import eventually
from tests.stubs import order_request
from viper.app import ViperApp
from viper.domain import Direction, ExchangeOrder, Fill, Order, Position
from viper.events import ExecutionReported, OrderFilled, OrderUpdated, PositionChanged
from viper.modules.monitoring.module import MonitoringModule

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
MODULES = ["api", "data", "risk", "monitoring"]
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "viper.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)")
SELECTORS = re.compile(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"")
SERIES = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")  # a name not called


def position(symbol: str, direction: Direction, size: str, realized: str) -> PositionChanged:
    return PositionChanged(
        ts_ms=1,
        position=Position(
            symbol=symbol,
            direction=direction,
            size=Decimal(size),
            entry_price=Decimal(100),
            realized_pnl=Decimal(realized),
        ),
    )


async def trade_some(app: ViperApp) -> None:
    """One order sent, reported, filled; a winning long on BTC and a losing short on ETH."""
    request = order_request()
    report = ExchangeOrder(
        client_order_id=request.client_order_id,
        symbol=request.symbol,
        side=request.side,
        type="market",
        amount=request.amount,
        status="closed",
        filled=request.amount,
    )
    fill = Fill(
        fill_id="f1",
        client_order_id=request.client_order_id,
        symbol=BTC,
        side="buy",
        amount=Decimal("0.01"),
        price=Decimal(100),
        fee=Decimal("0.01"),
    )
    order = Order(
        client_order_id=request.client_order_id,
        symbol=BTC,
        side="buy",
        type="market",
        amount=Decimal("0.01"),
        state="filled",
    )
    for event in (
        request,
        ExecutionReported(ts_ms=1, exchange="paper", order=report, fill=fill),
        OrderFilled(ts_ms=1, fill=fill),
        OrderUpdated(ts_ms=1, order=order, old_state="submitted"),
        position(BTC, "long", "0.01", "0"),
        position(BTC, "long", "0", "3"),
        position(ETH, "short", "1", "0"),
        position(ETH, "long", "0", "-1"),
    ):
        await app.bus.publish(event)
    monitoring = app.modules["monitoring"]
    assert isinstance(monitoring, MonitoringModule)
    await eventually(lambda: monitoring.trades.total == 2 and bool(monitoring.orders.counts()))


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    viper = ViperApp(make_config(tmp_path, modules={"enabled": MODULES}))
    async with viper.running():
        await trade_some(viper)
        yield viper


@pytest.fixture
async def http(app: ViperApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://viper") as client:
        yield client


async def scrape(http: httpx.AsyncClient) -> dict[str, Any]:
    text = (await http.get("/metrics")).text
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(families: dict[str, Any], family: str, sample: str, **labels: str) -> float:
    found = [s.value for s in families[family].samples if s.name == sample and s.labels == labels]
    assert len(found) == 1, (sample, labels, families[family].samples)
    return float(found[0])


async def test_metrics_carry_the_original_names_after_trades_on_the_bus(
    http: httpx.AsyncClient,
) -> None:
    await http.get("/health")
    families = await scrape(http)
    samples = {s.name for f in families.values() for s in f.samples}
    for name in (
        "viper_trades_total",
        "viper_win_rate",
        "viper_risk_score",
        "viper_response_time_seconds_bucket",
        "viper_memory_usage",
    ):
        assert name in samples, name
    assert value(families, "viper_trades", "viper_trades_total", symbol=BTC, side="buy") == 1
    assert value(families, "viper_trades", "viper_trades_total", symbol=ETH, side="sell") == 1
    assert value(families, "viper_win_rate", "viper_win_rate") == 0.5
    assert 0 <= value(families, "viper_risk_score", "viper_risk_score") <= 100
    assert value(families, "viper_orders", "viper_orders", state="filled") == 1
    assert value(families, "viper_fills", "viper_fills_total", symbol=BTC, side="buy") == 1
    assert "viper_exchange_latency_seconds_count" in samples  # request -> first report


async def test_per_module_families_are_declared(http: httpx.AsyncClient) -> None:
    families = await scrape(http)
    for name in (
        "viper_orders",
        "viper_exchange_latency_seconds",
        "viper_exchange_errors",
        "viper_exchange_connected",
        "viper_circuit_state",
        "viper_jobs",
        "viper_cache_hits",
        "viper_module_up",
        "viper_bus_queue_depth",
    ):
        assert name in families, name


async def test_json_summary_says_what_the_scrape_says(http: httpx.AsyncClient) -> None:
    await http.get("/health")
    body = (await http.get("/monitoring/metrics")).json()
    assert body["trades"]["total"] == 2
    assert body["trades"]["wins"] == 1 and body["trades"]["losses"] == 1
    assert body["trades"]["by_symbol"] == {BTC: {"buy": 1}, ETH: {"sell": 1}}
    assert body["win_rate"] == 0.5
    assert 0 <= body["risk_score"] <= 100
    assert body["memory_bytes"] > 10_000_000
    assert body["requests"]["total"] >= 1 and body["requests"]["per_second"] >= 0
    assert body["bus"]["published"] >= 8
    assert body["bus"]["dropped"] == 0 and body["bus"]["queue_depth"] >= 0
    assert body["modules"] == {name: "running" for name in MODULES}
    assert body["orders"] == {"filled": 1}
    api = (await http.get("/api/metrics")).json()
    assert api.keys() == body.keys()
    assert api["trades"] == body["trades"] and api["win_rate"] == body["win_rate"]


async def test_monitoring_health_is_the_process_health(http: httpx.AsyncClient) -> None:
    response = await http.get("/monitoring/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["state"] == "running"
    assert set(body["modules"]) >= set(MODULES)
    assert body["rss_bytes"] > 0 and body["version"]
    assert body.keys() >= (await http.get("/health")).json().keys()


async def test_api_metrics_is_503_naming_monitoring_when_it_is_off(tmp_path: Path) -> None:
    app = ViperApp(make_config(tmp_path, modules={"enabled": ["api"]}))
    async with app.running():
        transport = httpx.ASGITransport(app=app.http)
        async with httpx.AsyncClient(transport=transport, base_url="http://viper") as client:
            response = await client.get("/api/metrics")
    assert response.status_code == 503
    assert response.json()["module"] == "monitoring"


def dashboard_series() -> set[str]:
    """Every metric name the Grafana dashboard's queries use."""
    board = json.loads(DASHBOARD.read_text())
    names: set[str] = set()
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = GROUPING.sub("", SELECTORS.sub("", target["expr"]))
            names.update(n for n in SERIES.findall(expr) if not n[0].isdigit())
    return names


async def test_grafana_dashboard_uses_only_names_the_app_exports(http: httpx.AsyncClient) -> None:
    families = await scrape(http)
    series = dashboard_series()
    assert {"viper_trades_total", "viper_win_rate", "viper_risk_score"} <= series
    assert "viper_response_time_seconds_bucket" in series and "viper_memory_usage" in series
    exported = {
        family.name + suffix
        for family in families.values()
        for suffix in SUFFIXES.get(family.type, ("",))
    }
    unknown = series - exported
    assert not unknown, f"the dashboard queries series the app does not export: {unknown}"
    provisioning = REPO / "deploy" / "grafana" / "provisioning" / "dashboards" / "viper.yml"
    assert "/etc/grafana/dashboards/viper" in provisioning.read_text()
