"""The web module's routes in a real app: the page with its security headers, its files from the
package, recent candles, and the live feed over SSE from a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import httpx
import pytest
import uvicorn

from tests.conftest import make_config
from tests.stubs import TS, candle_closed, ticker
from viper.app import ViperApp
from viper.modules.web.module import WebModule
from viper.modules.web.routes import STATIC, VENDOR_FILE
from viper.server import bind


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    viper = ViperApp(
        make_config(tmp_path, modules={"enabled": ["api", "web"]}, auth={"enabled": False})
    )
    async with viper.running():
        yield viper


@pytest.fixture
async def client(app: ViperApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://viper") as http:
        yield http


@pytest.fixture
async def served(app: ViperApp) -> AsyncIterator[str]:
    """`app` behind uvicorn on a free port of 127.0.0.1; its base URL."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app.http, lifespan="off", log_config=None, loop="none", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 (uvicorn has no started event)
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_page_is_served_with_a_policy_that_allows_only_this_app(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")

    assert page.status_code == 200
    assert '<script type="module" src="/static/main.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "http://" not in page.text and "https://" not in page.text


async def test_scripts_and_the_vendored_chart_library_come_from_the_package(
    client: httpx.AsyncClient,
) -> None:
    script = await client.get("/static/main.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cache-control"] == "no-cache"
    again = await client.get("/static/main.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    assert (STATIC / VENDOR_FILE).is_file(), "run `make vendor` to copy the chart library"
    library = await client.get(f"/static/{VENDOR_FILE}")
    assert library.status_code == 200 and b"createChart" in library.content


async def test_recent_candles_are_served_oldest_first(
    app: ViperApp, client: httpx.AsyncClient
) -> None:
    for i in range(3):
        await app.bus.publish(candle_closed(close=100.0 + i, ts_ms=TS + i * 60_000))
    await asyncio.sleep(0.05)

    found = await client.get("/web/candles", params={"symbol": "BTC/USDT:USDT", "limit": 2})
    missing = await client.get("/web/candles", params={"symbol": "DOGE/USDT:USDT"})

    assert found.status_code == 200
    assert [c["close"] for c in found.json()["candles"]] == [101.0, 102.0]
    assert missing.status_code == 404 and "DOGE" in missing.json()["detail"]


async def test_candles_query_is_validated_and_described(client: httpx.AsyncClient) -> None:
    bad = await client.get("/web/candles", params={"symbol": "X", "limit": 0})
    assert bad.status_code == 422 and bad.json()["field"] == "limit"
    spec = (await client.get("/openapi.json")).json()
    assert "/web/candles" in spec["paths"] and "/web/events" in spec["paths"]


async def read_until(response: aiohttp.ClientResponse, event: str) -> list[str]:
    """The lines of the SSE stream up to and including the message named `event`."""
    lines: list[str] = []
    async with asyncio.timeout(5):
        while True:
            line = (await response.content.readline()).decode().rstrip("\n")
            lines.append(line)
            if lines[-2:-1] == [f"event: {event}"] and line.startswith("data: "):
                return lines


async def test_live_feed_streams_numbered_events_and_lets_go_on_disconnect(
    app: ViperApp, served: str
) -> None:
    web = app.modules["web"]
    assert isinstance(web, WebModule)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{served}/web/events") as response,
    ):
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        await read_until(response, "hello")
        await app.bus.publish(ticker(last=123.0))
        lines = await read_until(response, "ticker")
        assert "id: 1" in lines and any('"last":123.0' in line for line in lines)
        assert web.health().checks["clients"] == 1
    for _ in range(100):
        if web.health().checks["clients"] == 0:
            break
        await asyncio.sleep(0.02)
    assert web.health().checks["clients"] == 0


async def test_live_feed_beyond_the_limit_is_a_json_503(
    app: ViperApp, client: httpx.AsyncClient
) -> None:
    web = app.modules["web"]
    assert isinstance(web, WebModule)
    web.max_clients = 0

    response = await client.get("/web/events")

    assert response.status_code == 503
    assert "too many dashboard feeds" in response.json()["detail"]
