"""The order module in the real app, with the paper exchange: requests, fills, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.modules.order.helpers import (
    BTC,
    ETH,
    app_config,
    bar,
    client_for,
    eventually,
    order_request,
    order_state,
    ticker,
)
from viper.app import ViperApp
from viper.protocols import Exchange


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    viper = ViperApp(app_config(tmp_path))
    async with viper.running():
        await viper.bus.publish(ticker(viper, 50_000.0))
        await viper.bus.publish(ticker(viper, 2_500.0, ETH))
        yield viper


async def submit(app: ViperApp, cid: str, state: str = "open", **kwargs: object) -> None:
    await app.bus.publish(order_request(cid, **kwargs))  # type: ignore[arg-type]

    async def reached() -> bool:
        return await order_state(app, cid) == state

    await eventually(reached, what=f"{cid} {state}")


async def test_market_order_fills_and_the_position_matches_the_exchange(app: ViperApp) -> None:
    await submit(app, "m1", "filled", order_type="market", price=None, amount="0.02")

    async def fill_recorded() -> bool:
        return bool(await app.store.execute("SELECT 1 FROM fills WHERE client_order_id = 'm1'"))

    await eventually(fill_recorded, what="fill recorded")
    async with client_for(app) as http:
        life = (await http.get("/order/lifecycle/m1")).json()
        order = (await http.get("/order/orders/m1")).json()
    transitions = [e["new"] for e in life["entries"] if e["kind"] == "transition"]
    assert transitions[:2] == ["pending", "submitted"] and transitions[-1] == "filled"
    fills = [e["fill"] for e in life["entries"] if e["kind"] == "fill"]
    assert len(fills) == 1 and Decimal(fills[0]["amount"]) == Decimal("0.02")
    assert order["state"] == "filled" and Decimal(order["filled"]) == Decimal("0.02")
    exchange_positions = await app.services.get(Exchange).fetch_positions()
    rows = await app.store.execute("SELECT size, fees FROM positions WHERE symbol = ?", (BTC,))
    assert Decimal(rows[0][0]) == exchange_positions[0].size == Decimal("0.02")
    assert Decimal(rows[0][1]) == Decimal(fills[0]["fee"]) > 0


async def test_limit_order_fills_when_the_market_comes_to_it(app: ViperApp) -> None:
    await submit(app, "l1", price="49000")
    await app.bus.publish(bar(app, low=48_900.0, high=50_000.0))

    async def filled() -> bool:
        return await order_state(app, "l1") == "filled"

    await eventually(filled, what="l1 filled")


async def test_lists_orders_newest_first_with_filters_and_pages(app: ViperApp) -> None:
    await submit(app, "a", side="buy", price="30000")
    await submit(app, "b", side="sell", price="90000")
    await submit(app, "c", side="buy", price="2000", symbol=ETH)
    await submit(app, "d", side="buy", price="31000")
    async with client_for(app) as http:
        every = (await http.get("/order/orders")).json()
        buys = (await http.get("/order/orders", params={"side": "buy", "symbol": BTC})).json()
        page1 = (await http.get("/order/orders", params={"limit": 2})).json()
        page2 = (await http.get("/order/orders", params={"limit": 2, "offset": 2})).json()
        filled = (await http.get("/order/orders", params={"state": "filled"})).json()
        later = (
            await http.get("/order/orders", params={"since_ms": every["orders"][0]["created_ms"]})
        ).json()
    assert [o["client_order_id"] for o in every["orders"]] == ["d", "c", "b", "a"]
    assert every["total"] == 4
    assert [o["client_order_id"] for o in buys["orders"]] == ["d", "a"]
    assert [o["client_order_id"] for o in page1["orders"] + page2["orders"]] == ["d", "c", "b", "a"]
    assert page1["total"] == 4 and page2["offset"] == 2
    assert filled["total"] == 0
    assert "d" in [o["client_order_id"] for o in later["orders"]]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/order/orders", {"state": "done"}, "state"),
        ("/order/orders", {"side": "long"}, "side"),
        ("/order/orders", {"limit": 0}, "limit"),
        ("/order/orders", {"limit": 5000}, "limit"),
        ("/order/orders", {"offset": -1}, "offset"),
        ("/order/orders", {"since_ms": "yesterday"}, "since_ms"),
        ("/order/orders", {"colour": "red"}, "colour"),
    ],
)
async def test_bad_queries_are_422_naming_the_field(
    app: ViperApp, path: str, params: dict, field: str
) -> None:
    async with client_for(app) as http:
        response = await http.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["field"] == field


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/order/orders/nope"),
        ("GET", "/order/lifecycle/nope"),
        ("POST", "/order/orders/nope/cancel"),
    ],
)
async def test_unknown_orders_are_404(app: ViperApp, method: str, path: str) -> None:
    async with client_for(app) as http:
        response = await http.request(method, path)
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


async def test_cancel_route_cancels_at_the_exchange_once(app: ViperApp) -> None:
    await submit(app, "x1", price="30000")
    async with client_for(app) as http:
        first = await http.post("/order/orders/x1/cancel")
        again = await http.post("/order/orders/x1/cancel")
    assert first.status_code == 200 and first.json()["state"] == "cancelled"
    assert again.status_code == 409
    at_exchange = await app.services.get(Exchange).fetch_order("x1", BTC)
    assert at_exchange is not None and at_exchange.status == "canceled"


async def test_replace_route_sends_a_linked_replacement(app: ViperApp) -> None:
    await submit(app, "r1", price="30000")
    async with client_for(app) as http:
        bad = await http.post("/order/orders/r1/replace", json={"price": "-5"})
        response = await http.post("/order/orders/r1/replace", json={"price": "30500"})
        old = (await http.get("/order/orders/r1")).json()
    assert bad.status_code == 422 and bad.json()["field"] == "price"
    child = response.json()
    assert response.status_code == 200
    assert child["parent_id"] == "r1" and child["reprice"] == 1 and child["state"] == "open"
    assert Decimal(child["price"]) == Decimal("30500")
    assert old["state"] == "cancelled"
    exchange = app.services.get(Exchange)
    assert (await exchange.fetch_order(child["client_order_id"], BTC)) is not None


async def test_module_health_reports_open_orders(app: ViperApp) -> None:
    await submit(app, "h1", price="30000")

    async def counted() -> bool:
        return app.modules["order"].health().checks["open_orders"] == 1

    await eventually(counted, what="open order counted")
    async with client_for(app) as http:
        body = (await http.get("/order/health")).json()
    assert body["health"]["status"] == "ok"
    assert body["health"]["checks"]["last_exchange_error"] is None
