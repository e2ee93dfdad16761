"""Acceptance: /streamer/realtime and the SSE stream, served by the real app (and uvicorn)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.conftest import make_config
from tests.fakes.bitget_ws import eventually
from viper.app import ViperApp
from viper.server import bind

SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]


class QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers (the test runner owns the process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    config = make_config(
        tmp_path,
        modules={"enabled": ["streamer"]},
        trading={"symbols": SYMBOLS, "timeframe": "1m"},
        streamer={"replay_data": "synthetic", "speed": 1200.0, "warmup_bars": 5},
    )  # one bar every 50 ms
    viper = ViperApp(config)
    async with viper.running():
        yield viper


@pytest.fixture
async def client(app: ViperApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://viper") as http:
        yield http


@pytest.fixture
async def served(app: ViperApp) -> AsyncIterator[str]:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app.http, lifespan="off", log_config=None, access_log=False)
    server = QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_realtime_lists_the_latest_tick_and_candle_per_symbol(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/streamer/realtime")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert (body["source"], body["exchange"], body["timeframe"]) == ("replay", "synthetic", "1m")
    assert list(body["symbols"]) == SYMBOLS
    for symbol, quote in body["symbols"].items():
        assert quote["symbol"] == symbol and quote["last"] > 0
        assert quote["candle"]["close"] == quote["last"]
        assert quote["candle_close_ms"] == quote["candle"]["ts_ms"] + 60_000

    one = (await client.get("/streamer/realtime", params={"symbol": "eth/usdt:usdt"})).json()
    assert list(one["symbols"]) == ["ETH/USDT:USDT"]


async def test_unknown_symbol_is_404_json_naming_it(client: httpx.AsyncClient) -> None:
    for path, param in (("/streamer/realtime", "symbol"), ("/streamer/stream", "symbols")):
        response = await client.get(path, params={param: "DOGE/USDT:USDT"})
        assert response.status_code == 404
        body = response.json()
        assert body["error"] == "not_found" and "DOGE/USDT:USDT" in body["detail"]
        assert body["symbols"] == ["DOGE/USDT:USDT"]


async def test_sse_stream_delivers_events_and_unsubscribes_when_the_client_leaves(
    app: ViperApp, served: str
) -> None:
    streamer = app.modules["streamer"]
    streamer.heartbeat_seconds = 0.02  # type: ignore[attr-defined]
    before = len(app.bus.subscriptions)
    events: list[tuple[str, dict]] = []  # type: ignore[type-arg]
    heartbeats = 0
    async with (
        httpx.AsyncClient(base_url=served, timeout=10) as http,
        http.stream("GET", "/streamer/stream", params={"symbols": "ETH/USDT:USDT"}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
            elif line == ": heartbeat":
                heartbeats += 1
            kinds = {n for n, _ in events}
            if {"candle", "ticker"} <= kinds and heartbeats and len(events) >= 4:
                break
        assert len(app.bus.subscriptions) == before + 2
    await eventually(lambda: len(app.bus.subscriptions) == before)
    assert all(data["symbol"] == "ETH/USDT:USDT" for _, data in events)
    candles = [data for kind, data in events if kind == "candle"]
    assert candles[0]["type"] == "CandleClosed" and candles[0]["timeframe"] == "1m"
    assert streamer.health().checks["streams"] == 0


async def test_openapi_documents_the_realtime_response(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    realtime = spec["paths"]["/streamer/realtime"]["get"]
    schema = realtime["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/Realtime")
    assert "Quote" in spec["components"]["schemas"]
    assert "/streamer/stream" in spec["paths"]
