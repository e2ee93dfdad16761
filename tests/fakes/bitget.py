"""A fake Bitget v2 REST server: real HTTP on 127.0.0.1, in-memory candles, injected faults.

Point the real ccxt client at `fake.url` (every `exchange.urls['api']` entry) and it loads swap
markets and fetches candles as it would from api.bitget.com. Candles follow Bitget's documented
rules: bars opening in [startTime, endTime) (endTime defaults to now), the latest `limit` of them
(default 100, capped at 1000 on /candles and 200 on /history-candles), at most 90 days apart, and
/candles reaches back only 30 days for 1m (more for longer bars). Routes are data (`Route` rows);
private ones (`private=True`) are checked against Bitget's HMAC signature.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import hashlib
import hmac
import json
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiohttp import web

SUCCESS = "00000"
MINUTE_MS, DAY_MS = 60_000, 86_400_000
DEFAULT_LIMIT, RECENT_CAP, HISTORY_CAP = 100, 1000, 200
MAX_RANGE_MS = 90 * DAY_MS  # "the maximum time query range is 90 days"
MARKETS_FILE = (
    Path(__file__).resolve().parents[3]
    / "shared/data/bitget/ccxt-static/markets.bitget.subset.json"
)
PRODUCT_TYPES = tuple(f"{p}-FUTURES" for p in ("USDT", "COIN", "USDC", "SUSDT", "SCOIN", "SUSDC"))
_UNIT_MS = {"m": MINUTE_MS, "H": 60 * MINUTE_MS, "D": DAY_MS, "W": 7 * DAY_MS, "M": 30 * DAY_MS}
_GRANULARITIES = "1m 3m 5m 15m 30m 1H 2H 4H 6H 12H 1D 3D 1W 1M 6Hutc 12Hutc 1Dutc 3Dutc 1Wutc 1Mutc"
GRANULARITY_MS = {
    g: int(g.removesuffix("utc")[:-1]) * _UNIT_MS[g.removesuffix("utc")[-1]]
    for g in _GRANULARITIES.split()
}
# ccxt's swap timeframe names where they differ from Bitget's granularity.
TIMEFRAME_GRANULARITY = {"1h": "1H", "2h": "2H", "4h": "4H", "6h": "6Hutc", "12h": "12Hutc"}
TIMEFRAME_GRANULARITY |= {"1d": "1Dutc", "3d": "3Dutc", "1w": "1Wutc", "1M": "1Mutc"}
# How far back the "recent" candles endpoint reaches, per granularity (Bitget's documented table).
RECENT_DAYS = {"1m": 30, "3m": 30, "5m": 30, "15m": 52, "30m": 62, "1H": 83, "2H": 120}
RECENT_DAYS |= {"4H": 240, "6H": 360, "6Hutc": 360}

Row = tuple[str, str, str, str, str, str, str]  # open ms, o, h, l, c, base volume, quote volume


# --- envelope and errors ---------------------------------------------------------------------


class BitgetFault(Exception):
    """An error answer as Bitget gives it: HTTP status plus a code and msg in the envelope."""

    def __init__(self, code: str, msg: str, status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg, self.status = code, msg, status


def envelope(data: Any, code: str = SUCCESS, msg: str = "success") -> dict[str, Any]:
    """The body every Bitget v2 answer has."""
    return {"code": code, "msg": msg, "requestTime": int(time.time() * 1000), "data": data}


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


def error_response(fault: BitgetFault) -> web.Response:
    return json_response(envelope(None, fault.code, fault.msg), fault.status)


def default_fault_body(status: int) -> str:
    """What a failing edge sends: Bitget's JSON for 429, a proxy's plain text otherwise."""
    if status == 429:
        return json.dumps(envelope(None, "429", "Too Many Requests"))
    return f"<html><body><h1>{status} Server Error</h1></body></html>"


# --- request parameters ----------------------------------------------------------------------


def required(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "")
    if not value:
        raise BitgetFault("40019", f"Parameter {name} cannot be empty")
    return value


def int_param(query: Mapping[str, str], name: str, default: int) -> int:
    value = query.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise BitgetFault("40017", f"Parameter {name} error") from None


# --- markets and candles ---------------------------------------------------------------------


def parse_symbol(symbol: str) -> tuple[str, str, str, str]:
    """ccxt's unified swap symbol ('BTC/USDT:USDT') as (base, quote, settle, productType)."""
    pair, _, settle = symbol.partition(":")
    base, _, quote = pair.partition("/")
    if not (base and quote and settle):
        raise ValueError(f"not a unified swap symbol: {symbol!r}")
    return base, quote, settle, "COIN-FUTURES" if settle == base else f"{settle}-FUTURES"


def contract_row(base: str, quote: str, settle: str) -> dict[str, Any]:
    """A minimal perpetual contract row with the fields ccxt reads from /mix/market/contracts."""
    return {
        **{"symbol": base + quote, "baseCoin": base, "quoteCoin": quote},
        **{"supportMarginCoins": [settle], "symbolType": "perpetual", "symbolStatus": "normal"},
        **{"makerFeeRate": "0.0002", "takerFeeRate": "0.0006", "minTradeNum": "0.001"},
        **{"priceEndStep": "1", "pricePlace": "1", "volumePlace": "3", "sizeMultiplier": "0.001"},
        **{"minTradeUSDT": "5", "minLever": "1", "maxLever": "125", "launchTime": ""},
    }


def make_candles(start_ms: int, count: int, step_ms: int = MINUTE_MS, seed: int = 7) -> list[Row]:
    """`count` consecutive candles from `start_ms`: a seeded random walk, as Bitget's strings."""
    rng, price, rows = random.Random(seed), 43_000.0, []
    for i in range(count):
        close = max(1.0, price + rng.uniform(-25, 25))
        high, low = max(price, close) + rng.uniform(0, 10), min(price, close) - rng.uniform(0, 10)
        volume = rng.uniform(0.5, 120)
        ts = str(start_ms + i * step_ms)
        ohlc = (f"{price:.1f}", f"{high:.1f}", f"{low:.1f}", f"{close:.1f}")
        rows.append((ts, *ohlc, f"{volume:.3f}", f"{volume * close:.4f}"))
        price = close
    return rows


@dataclass
class Series:
    """One symbol's candles at one granularity, sorted by open time."""

    opens: list[int] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def window(self, start: int, end: int, limit: int) -> list[Row]:
        """Rows opening in [start, end), at most `limit`, counted back from `end` as Bitget does."""
        lo, hi = bisect.bisect_left(self.opens, start), bisect.bisect_left(self.opens, end)
        return self.rows[max(lo, hi - limit) : hi]


# --- handlers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """What a handler sees of a request: the query, the JSON body (or None), the headers."""

    query: Mapping[str, str]
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[["FakeBitget", Call], Any]  # returns the envelope's `data`


def contracts(fake: FakeBitget, call: Call) -> list[dict[str, Any]]:
    product = required(call.query, "productType").upper()
    if product not in PRODUCT_TYPES:
        raise BitgetFault("40020", "Parameter productType error")
    return list(fake.contracts.get(product, {}).values())


def candles_between(fake: FakeBitget, query: Mapping[str, str], *, cap: int, recent: bool) -> Any:
    """Shared semantics of the two candle endpoints; `recent` limits how far back data reaches."""
    symbol, granularity = required(query, "symbol"), required(query, "granularity")
    product = required(query, "productType").upper()
    if symbol not in fake.contracts.get(product, {}):
        raise BitgetFault("40034", f"Parameter {symbol} does not exist")
    if granularity not in GRANULARITY_MS:
        raise BitgetFault("40020", "Parameter granularity error")
    limit = min(int_param(query, "limit", DEFAULT_LIMIT), cap)
    if limit < 1:
        raise BitgetFault("40017", "Parameter limit error")
    now = fake.now_ms()
    end, start = int_param(query, "endTime", now), int_param(query, "startTime", 0)
    if "startTime" in query and end - start > MAX_RANGE_MS:
        raise BitgetFault("00001", "startTime and endTime interval cannot be greater than 90 days")
    if recent and granularity in RECENT_DAYS:
        start = max(start, now - RECENT_DAYS[granularity] * DAY_MS)
    series = fake.series.get((symbol, granularity), Series())
    return [list(row) for row in series.window(start, end, limit)]


def candles(fake: FakeBitget, call: Call) -> Any:
    return candles_between(fake, call.query, cap=RECENT_CAP, recent=True)


def history_candles(fake: FakeBitget, call: Call) -> Any:
    return candles_between(fake, call.query, cap=HISTORY_CAP, recent=False)


def spot_symbols(fake: FakeBitget, call: Call) -> list[dict[str, Any]]:
    return list(fake.spot)


def margin_currencies(fake: FakeBitget, call: Call) -> list[dict[str, Any]]:
    return []


def spot_coins(fake: FakeBitget, call: Call) -> list[dict[str, Any]]:
    coins = sorted({row["baseCoin"] for rows in fake.contracts.values() for row in rows.values()})
    coins += sorted({"USDT", "USDC"} - set(coins))
    return [
        {"coinId": str(i), "coin": c, "transfer": "true", "chains": []} for i, c in enumerate(coins)
    ]


def server_time(fake: FakeBitget, call: Call) -> dict[str, str]:
    return {"serverTime": str(fake.now_ms())}


@dataclass(frozen=True)
class Route:
    """One endpoint: method and path as Bitget spells them, and the function that answers."""

    method: str
    path: str
    handler: Handler
    private: bool = False


PUBLIC_ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/v2/public/time", server_time),
    Route("GET", "/api/v2/mix/market/contracts", contracts),
    Route("GET", "/api/v2/mix/market/candles", candles),
    Route("GET", "/api/v2/mix/market/history-candles", history_candles),
    Route("GET", "/api/v2/spot/public/symbols", spot_symbols),
    Route("GET", "/api/v2/spot/public/coins", spot_coins),
    Route("GET", "/api/v2/margin/currencies", margin_currencies),
)


# --- signatures (private routes) -------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    key: str
    secret: str
    passphrase: str


def check_signature(request: web.Request, body: str, creds: Credentials | None) -> None:
    """Bitget's HMAC-SHA256 over timestamp + method + path[?query] + body, base64-encoded."""
    headers = request.headers
    key, sign = headers.get("ACCESS-KEY", ""), headers.get("ACCESS-SIGN", "")
    stamp, passphrase = headers.get("ACCESS-TIMESTAMP", ""), headers.get("ACCESS-PASSPHRASE", "")
    if not (key and sign and stamp and passphrase):
        raise BitgetFault("40001", "ACCESS_KEY cannot be empty", 401)
    if creds is None or key != creds.key or passphrase != creds.passphrase:
        raise BitgetFault("40006", "Invalid ACCESS_KEY", 401)
    query = f"?{request.query_string}" if request.query_string else ""
    prehash = f"{stamp}{request.method}{request.path}{query}{body}"
    digest = hmac.new(creds.secret.encode(), prehash.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), sign):
        raise BitgetFault("40009", "sign signature error", 401)


# --- faults and the request log --------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    kind: str  # "fail", "delay", "drop" or "lost" (answered, then the connection is cut)
    path: str | None = None  # only requests whose path starts with this
    status: int = 500
    body: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    params: dict[str, str]
    at: float  # time.monotonic() when the request arrived
    outcome: str  # "ok", "error", "unknown", "fail", "delay", "drop" or "lost"
    headers: dict[str, str] = field(default_factory=dict)


# --- the server ------------------------------------------------------------------------------


class FakeBitget:
    """The fake exchange; `async with FakeBitget() as fake:` serves on `fake.url` until exit."""

    def __init__(
        self,
        *,
        routes: Iterable[Route] = PUBLIC_ROUTES,
        now_ms: Callable[[], int] | None = None,
        markets_file: Path | None = MARKETS_FILE,
        credentials: Credentials | None = None,
    ) -> None:
        self.routes = {(r.method, r.path): r for r in routes}
        self.now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self.credentials = credentials
        self.contracts: dict[str, dict[str, dict[str, Any]]] = {p: {} for p in PRODUCT_TYPES}
        self.spot: list[dict[str, Any]] = []
        self.series: dict[tuple[str, str], Series] = {}
        self.log: list[LoggedRequest] = []
        self._faults: deque[Fault] = deque()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0
        if markets_file is not None and markets_file.exists():
            self._load_markets(json.loads(markets_file.read_text()))

    # lifecycle

    async def __aenter__(self) -> FakeBitget:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop serving; cuts injected delays short. Safe to call twice."""
        self._closing.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # data

    def _load_markets(self, markets: Mapping[str, Any]) -> None:
        for market in markets.values():
            if market.get("type") == "spot":
                self.spot.append(market["info"])
            elif market.get("type") == "swap":
                product = parse_symbol(market["symbol"])[3]
                self.contracts[product][market["id"]] = market["info"]

    def add_market(self, symbol: str) -> tuple[str, str]:
        """Make sure the swap market `symbol` is listed; returns its (id, productType)."""
        base, quote, settle, product = parse_symbol(symbol)
        row = self.contracts[product].setdefault(base + quote, contract_row(base, quote, settle))
        return row["symbol"], product

    def set_candles(self, symbol: str, timeframe: str, rows: Iterable[Sequence[str]]) -> None:
        """Replace the candles of `symbol` ('BTC/USDT:USDT') at `timeframe` ('1m' or '1H')."""
        market_id, _ = self.add_market(symbol)
        ordered = sorted((tuple(r) for r in rows), key=lambda r: int(r[0]))
        series = Series([int(r[0]) for r in ordered], ordered)  # type: ignore[arg-type]
        self.series[(market_id, TIMEFRAME_GRANULARITY.get(timeframe, timeframe))] = series

    # faults and log

    def fail_next(
        self, n: int, status: int = 500, body: str | None = None, *, path: str | None = None
    ) -> None:
        """Answer the next `n` matching requests with `status` and `body`."""
        self._faults.extend(Fault("fail", path, status, body) for _ in range(n))

    def delay_next(self, n: int, seconds: float, *, path: str | None = None) -> None:
        """Hold the next `n` matching requests for `seconds` before answering."""
        self._faults.extend(Fault("delay", path, seconds=seconds) for _ in range(n))

    def drop_next(self, n: int, *, path: str | None = None) -> None:
        """Close the connection of the next `n` matching requests without answering.

        aiohttp re-sends an idempotent request once when a reused connection drops, so a
        client sees one failure per two drops in a row.
        """
        self._faults.extend(Fault("drop", path) for _ in range(n))

    def lose_response_next(self, n: int, *, path: str | None = None) -> None:
        """Handle the next `n` matching requests fully (state changes stick), then cut the
        connection instead of answering: the client never learns the outcome."""
        self._faults.extend(Fault("lost", path) for _ in range(n))

    def clear_faults(self) -> None:
        """Forget every fault not yet served."""
        self._faults.clear()

    def requests(self, path: str | None = None) -> list[LoggedRequest]:
        """Logged requests in arrival order, optionally only those whose path starts with `path`."""
        return [r for r in self.log if r.path.startswith(path or "")]

    def _take_fault(self, path: str) -> Fault | None:
        if self._faults and path.startswith(self._faults[0].path or ""):
            return self._faults.popleft()
        return None

    # dispatch

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        route = self.routes.get((request.method, request.path))
        fault = self._take_fault(request.path)
        outcome = fault.kind if fault else ("ok" if route else "unknown")
        entry = LoggedRequest(
            request.method,
            request.path,
            dict(request.query),
            time.monotonic(),
            outcome,
            dict(request.headers),
        )
        index = len(self.log)
        self.log.append(entry)
        if fault is not None and fault.kind == "drop":
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        if fault is not None and fault.kind == "fail":
            body = fault.body if fault.body is not None else default_fault_body(fault.status)
            kind = "application/json" if body.startswith("{") else "text/html"
            return web.Response(text=body, status=fault.status, content_type=kind)
        if fault is not None and fault.kind == "delay":
            await request.read()  # the request has arrived whole; only the answer is late
            await self._sleep(fault.seconds)
        if route is None:
            return error_response(BitgetFault("40404", "Request URL NOT FOUND", 404))
        try:
            answer = json_response(envelope(await self._answer(route, request)))
        except BitgetFault as exc:
            self.log[index] = replace(entry, outcome="error")
            return error_response(exc)
        if fault is not None and fault.kind == "lost":
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        return answer

    async def _answer(self, route: Route, request: web.Request) -> Any:
        text = await request.text()
        if route.private:
            check_signature(request, text, self.credentials)
        call = Call(request.query, json.loads(text) if text else None, request.headers)
        return route.handler(self, call)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
