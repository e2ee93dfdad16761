"""The risk module in the real app with the paper exchange and the order journal, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_config
from tests.integration.modules.order.helpers import BTC, client_for, eventually, ticker
from viper.app import ViperApp
from viper.config import Config
from viper.events import ConfigChanged
from viper.protocols import Exchange

MODULES = ["api", "exchange", "order", "risk", "signal", "live"]


def config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    return make_config(tmp_path, modules={"enabled": MODULES}, **sections)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    viper = ViperApp(config(tmp_path))
    async with viper.running():
        await viper.bus.publish(ticker(viper, 60_000.0))
        yield viper


async def orders_journaled(app: ViperApp) -> int:
    rows = await app.store.execute("SELECT count(*) FROM orders")
    return int(rows[0][0])


async def test_status_shows_equity_limits_and_switches(app: ViperApp) -> None:
    async with client_for(app) as http:
        await eventually(
            lambda: _equity_loaded(http),
            what="account loaded",  # the refresher's first read
        )
        risk = (await http.get("/risk/risk")).json()
        api = (await http.get("/api/risk/status")).json()

    assert risk["equity"] == 10_000.0 and not risk["halted"] and risk["entries_allowed"]
    assert set(risk["limits"]) >= {"max_open_positions", "daily_loss_limit", "max_drawdown"}
    assert risk["limits"]["max_drawdown"] == {"limit": 0.15, "used": 0.0, "fraction": 0.0}
    assert api["equity"] == risk["equity"]


async def _equity_loaded(http: Any) -> bool:
    return (await http.get("/risk/risk")).json()["equity"] > 0


async def test_limits_change_is_validated_and_audited(app: ViperApp) -> None:
    seen: list[ConfigChanged] = []

    async def record(event: ConfigChanged) -> None:
        seen.append(event)

    app.bus.subscribe(ConfigChanged, record, name="test.config")
    async with client_for(app) as http:
        bad = await http.put("/risk/limits", json={"max_leverage": 500})
        unknown = await http.put("/risk/limits", json={"max_fun": 1})
        good = await http.put(
            "/risk/limits", json={"max_leverage": 5}, headers={"X-Actor": "carol"}
        )
        limits = (await http.get("/risk/limits")).json()
        audit = (await http.get("/risk/audit")).json()["entries"]

    assert bad.status_code == 422 and bad.json()["field"] == "max_leverage"
    assert unknown.status_code == 422 and unknown.json()["field"] == "max_fun"
    assert good.status_code == 200 and limits["max_leverage"] == 5
    assert [(a["actor"], a["key"], a["old"], a["new"]) for a in audit] == [
        ("carol", "max_leverage", 10, 5)
    ]
    await eventually(_true(lambda: bool(seen)), what="ConfigChanged")
    assert (seen[0].section, seen[0].key, seen[0].actor) == ("risk", "max_leverage", "carol")


def _true(check: Any) -> Any:
    async def wrapped() -> bool:
        return bool(check())

    return wrapped


async def test_bad_manual_orders_are_refused_with_the_reason_and_nothing_is_journaled(
    app: ViperApp,
) -> None:
    async with client_for(app) as http:
        await eventually(_marked(app), what="price known")
        zero = await http.post("/live/orders", json={"symbol": BTC, "side": "buy", "amount": 0})
        negative = await http.post(
            "/live/orders", json={"symbol": BTC, "side": "buy", "amount": "-0.1"}
        )
        unknown = await http.post(
            "/live/orders", json={"symbol": "NOPE/USDT:USDT", "side": "buy", "amount": 1}
        )
        leverage = await http.post(
            "/live/orders",
            json={"symbol": BTC, "side": "buy", "amount": "0.01", "leverage": 50},
        )

    assert zero.status_code == 422 and zero.json()["field"] == "amount"
    assert negative.status_code == 422 and negative.json()["field"] == "amount"
    assert unknown.status_code == 422 and unknown.json()["field"] == "symbol"
    assert leverage.status_code == 422
    assert (leverage.json()["reason"], leverage.json()["field"]) == ("leverage", "leverage")
    assert await orders_journaled(app) == 0


def _marked(app: ViperApp) -> Any:
    async def check() -> bool:
        return BTC in app.modules["live"].engine.marks  # type: ignore[attr-defined]

    return check


async def test_kill_switch_flattens_halts_survives_restart_and_resumes(tmp_path: Path) -> None:
    viper = ViperApp(config(tmp_path))
    async with viper.running(), client_for(viper) as http:
        await viper.bus.publish(ticker(viper, 60_000.0))
        await eventually(_marked(viper), what="price known")
        placed = await http.post(
            "/live/orders", json={"symbol": BTC, "side": "buy", "amount": "0.05", "leverage": 5}
        )
        assert placed.status_code == 202, placed.text
        await eventually(_positions(http, 1), what="position open")
        tripped = await http.post(
            "/risk/kill-switch/trip", json={"reason": "drill"}, headers={"X-Actor": "dave"}
        )
        await eventually(_positions(http, 0), what="flattened")
        refused = await http.post(
            "/live/orders", json={"symbol": BTC, "side": "buy", "amount": "0.05"}
        )
    assert tripped.json()["halted"] and tripped.json()["halt_reason"] == "drill"
    assert refused.status_code == 422 and refused.json()["reason"] == "kill_switch"

    again = ViperApp(config(tmp_path))
    async with again.running(), client_for(again) as http:
        still = (await http.get("/risk/risk")).json()
        resumed = (await http.post("/risk/kill-switch/resume", json={"reason": "ok"})).json()
        positions = await again.services.get(Exchange).fetch_positions()
    assert still["halted"] and not resumed["halted"]
    assert positions == []


def _positions(http: Any, count: int) -> Any:
    async def check() -> bool:
        body = (await http.get("/api/positions")).json()
        return body.get("count") == count

    return check
