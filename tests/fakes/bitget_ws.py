"""A local Bitget for tests: the v2 public websocket (candle and ticker channels) and REST candles.

It speaks what ccxt.pro's bitget client sends and parses (see ccxt/pro/bitget.py):
`{"op": "subscribe", "args": [{"instType", "channel", "instId"}]}` is acknowledged with
`{"event": "subscribe", "arg": ...}` and answered with a snapshot; "ping" gets "pong"; pushes
are `{"action": "update", "arg": ..., "data": [...], "ts": ...}`. REST serves
/api/v2/mix/market/{candles,history-candles,ticker} in the `{"code": "00000", "data": ...}`
envelope. The market moves only when a test calls `advance`, so every run is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import WSMsgType, web

START_MS = 1_700_000_040_000 - 1_700_000_040_000 % 60_000
INST_TYPE = "USDT-FUTURES"
SYMBOLS = {"BTC/USDT:USDT": "BTCUSDT", "ETH/USDT:USDT": "ETHUSDT"}
_BASE_PRICE = {"BTCUSDT": 43_000.0, "ETHUSDT": 2_300.0}


def market(symbol: str, market_id: str) -> dict[str, Any]:
    """A ccxt unified market of a USDT-M perpetual, shaped as ccxt's static fixtures hold it."""
    base = symbol.split("/")[0]
    return {
        "id": market_id,
        "symbol": symbol,
        "base": base,
        "quote": "USDT",
        "settle": "USDT",
        "baseId": base,
        "quoteId": "USDT",
        "settleId": "USDT",
        "type": "swap",
        "spot": False,
        "margin": False,
        "swap": True,
        "future": False,
        "option": False,
        "active": True,
        "contract": True,
        "linear": True,
        "inverse": False,
        "subType": "linear",
        "contractSize": 1,
        "precision": {"amount": 0.001, "price": 0.1},
        "limits": {"amount": {"min": 0.001}, "price": {}, "cost": {"min": 5}, "leverage": {}},
        "info": {"symbol": market_id, "baseCoin": base, "quoteCoin": "USDT"},
    }


def bar(market_id: str, index: int, step_ms: int) -> list[str]:
    """Bar number `index` of a market: a deterministic zig-zag, as Bitget's strings."""
    base = _BASE_PRICE[market_id]
    open_ = base + (index % 7) * 3.0 - (index % 3) * 2.0
    close = open_ + ((index % 5) - 2) * 1.5
    high, low = max(open_, close) + 1.0, min(open_, close) - 1.0
    ts = START_MS + index * step_ms
    return [
        str(ts),
        f"{open_:.1f}",
        f"{high:.1f}",
        f"{low:.1f}",
        f"{close:.1f}",
        f"{10 + index % 4}",
        "0",
    ]


class FakeBitget:
    """Bitget's public market data on 127.0.0.1 (port 0), moved bar by bar by the test."""

    def __init__(self, *, bars: int = 30, step_ms: int = 60_000, snapshot_bars: int = 1) -> None:
        self.step_ms = step_ms
        self.snapshot_bars = snapshot_bars
        self.count = bars  # bars that exist; the last one is forming
        self.sockets: list[web.WebSocketResponse] = []
        self.connections = 0
        self.subscriptions: list[dict[str, Any]] = []
        self.rest_requests: list[tuple[str, dict[str, str]]] = []
        self.rest_failures = 0  # answer this many REST requests with 503
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- server ---------------------------------------------------------------------------

    async def start(self) -> FakeBitget:
        app = web.Application()
        app.router.add_get("/v2/ws/public", self._websocket)
        app.router.add_get("/api/v2/mix/market/candles", self._candles)
        app.router.add_get("/api/v2/mix/market/history-candles", self._candles)
        app.router.add_get("/api/v2/mix/market/ticker", self._ticker_rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        await self.disconnect()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v2/ws/public"

    def point(self, client: Any) -> Any:
        """Aim a ccxt bitget client (REST or pro) at this server and give it the markets."""
        for key, value in list(client.urls["api"].items()):
            if isinstance(value, str):
                client.urls["api"][key] = self.rest_url
        if "ws" in client.urls["api"]:
            client.urls["api"]["ws"]["public"] = self.ws_url
        client.set_markets([market(s, i) for s, i in SYMBOLS.items()])
        return client

    # --- what the test does ------------------------------------------------------------------

    def rows(self, market_id: str, upto: int | None = None) -> list[list[str]]:
        """Every bar of a market so far (the last one forming)."""
        return [
            bar(market_id, i, self.step_ms) for i in range(self.count if upto is None else upto)
        ]

    def open_ms(self, index: int) -> int:
        return START_MS + index * self.step_ms

    async def advance(self, bars: int = 1, *, push: bool = True) -> None:
        """Open `bars` new bars; with `push`, send each to the subscribers as it opens."""
        for _ in range(bars):
            self.count += 1
            if push:
                await self.push_latest()

    async def push_latest(self) -> None:
        """Send the forming bar and a ticker of every market to every subscriber."""
        for market_id in SYMBOLS.values():
            row = bar(market_id, self.count - 1, self.step_ms)
            await self._send_all(self._candle_push(market_id, [row], "update"))
            await self._send_all(self._ticker_push(market_id, row))

    async def disconnect(self) -> None:
        """Drop every websocket connection, as a network failure would."""
        sockets, self.sockets = self.sockets, []
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close(code=1001)  # going away

    def subscribed(self, channel: str) -> set[str]:
        """Instruments ever subscribed to `channel`."""
        return {a["instId"] for a in self.subscriptions if a.get("channel") == channel}

    # --- protocol ------------------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        self.sockets.append(ws)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                break
            if message.data == "ping":
                await ws.send_str("pong")
                continue
            request_body = json.loads(message.data)
            if request_body.get("op") == "subscribe":
                for arg in request_body.get("args", []):
                    await self._subscribe(ws, arg)
        return ws

    async def _subscribe(self, ws: web.WebSocketResponse, arg: dict[str, Any]) -> None:
        self.subscriptions.append(arg)
        await ws.send_str(json.dumps({"event": "subscribe", "arg": arg}))
        market_id, channel = arg["instId"], arg["channel"]
        rows = self.rows(market_id)[-self.snapshot_bars :]
        if channel.startswith("candle"):
            await ws.send_str(json.dumps(self._candle_push(market_id, rows, "snapshot")))
        elif channel == "ticker":
            await ws.send_str(json.dumps(self._ticker_push(market_id, rows[-1])))

    def _candle_push(self, market_id: str, rows: list[list[str]], action: str) -> dict[str, Any]:
        arg = {"instType": INST_TYPE, "channel": "candle1m", "instId": market_id}
        return {"action": action, "arg": arg, "data": rows, "ts": int(rows[-1][0])}

    def _ticker_push(self, market_id: str, row: list[str]) -> dict[str, Any]:
        arg = {"instType": INST_TYPE, "channel": "ticker", "instId": market_id}
        return {"action": "snapshot", "arg": arg, "data": [self._ticker_data(market_id, row)]}

    @staticmethod
    def _ticker_data(market_id: str, row: list[str]) -> dict[str, str]:
        close = float(row[4])
        return {
            "instId": market_id,
            "symbol": market_id,
            "lastPr": row[4],
            "bidPr": f"{close - 0.1:.1f}",
            "askPr": f"{close + 0.1:.1f}",
            "ts": str(int(row[0]) + 30_000),
        }

    async def _send_all(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload)
        for ws in list(self.sockets):
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.send_str(text)

    # --- REST ------------------------------------------------------------------------------------

    def _failing(self, request: web.Request) -> web.Response | None:
        self.rest_requests.append((request.path, dict(request.query)))
        if self.rest_failures > 0:
            self.rest_failures -= 1
            return web.Response(status=503, text="service unavailable")
        return None

    async def _candles(self, request: web.Request) -> web.Response:
        if (failed := self._failing(request)) is not None:
            return failed
        rows = self.select(request.query["symbol"], request.query)
        return _envelope(rows)

    def select(self, market_id: str, query: Any) -> list[list[str]]:
        """The rows a candles request asks for: within [startTime, endTime], up to `limit`."""
        rows = self.rows(market_id)
        start, end = query.get("startTime"), query.get("endTime")
        limit = int(query.get("limit", 100))
        if start is not None:
            rows = [r for r in rows if int(r[0]) >= int(start)]
        if end is not None:
            rows = [r for r in rows if int(r[0]) <= int(end)]
        return rows[:limit] if start is not None else rows[-limit:]

    async def _ticker_rest(self, request: web.Request) -> web.Response:
        if (failed := self._failing(request)) is not None:
            return failed
        market_id = request.query["symbol"]
        return _envelope([self._ticker_data(market_id, self.rows(market_id)[-1])])


async def eventually(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until `predicate()` holds; fail (AssertionError) after `seconds`."""
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not met within {seconds} s")


def _envelope(data: Iterable[Any]) -> web.Response:
    body = {"code": "00000", "msg": "success", "requestTime": START_MS, "data": list(data)}
    return web.json_response(body)
