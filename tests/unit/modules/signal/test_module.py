"""The signal module in a real app: candles on the bus in, scores and signals out, as batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import make_config
from viper.app import ViperApp
from viper.domain import Candle
from viper.events import BaseEvent, CandleClosed, ScoreComputed, SignalGenerated
from viper.modules.signal.module import SignalModule
from viper.scoring import ScoreParams, score_batch

T0 = 1_700_000_000_000
STEP = 60_000
BARS = 300
THRESHOLD = 75.0


def market(seed: int, bars: int = BARS) -> list[Candle]:
    """A random walk with bursts of volume: enough strong bars to cross the threshold."""
    rng = np.random.default_rng(seed)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, bars)))
    opens = np.concatenate([[closes[0]], closes[:-1]])
    highs = np.maximum(opens, closes) * (1 + rng.uniform(0, 0.002, bars))
    lows = np.minimum(opens, closes) * (1 - rng.uniform(0, 0.002, bars))
    volumes = rng.lognormal(3, 0.8, bars)
    return [
        Candle(
            ts_ms=T0 + i * STEP,
            open=float(opens[i]),
            high=float(highs[i]),
            low=float(lows[i]),
            close=float(closes[i]),
            volume=float(volumes[i]),
        )
        for i in range(bars)
    ]


SERIES = {"BTC/USDT:USDT": market(1), "ETH/USDT:USDT": market(2)}


async def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


class Recorder:
    """Every ScoreComputed and SignalGenerated the module publishes."""

    def __init__(self, app: ViperApp) -> None:
        self.scores: list[ScoreComputed] = []
        self.signals: list[SignalGenerated] = []
        app.bus.subscribe(ScoreComputed, self._record, name="test.scores")
        app.bus.subscribe(SignalGenerated, self._record, name="test.signals")

    async def _record(self, event: BaseEvent) -> None:
        if isinstance(event, ScoreComputed):
            self.scores.append(event)
        elif isinstance(event, SignalGenerated):
            self.signals.append(event)


def expected_scored(candles: list[Candle]) -> int:
    arrays = batch(candles)
    return int(((~np.isnan(arrays.score)) & (arrays.direction != 0)).sum())


def batch(candles: list[Candle]):  # type: ignore[no-untyped-def]
    columns = [
        np.array([getattr(c, f) for c in candles])
        for f in ("open", "high", "low", "close", "volume")
    ]
    return score_batch(*columns, params=ScoreParams(threshold=THRESHOLD))


async def feed(app: ViperApp, recorder: Recorder) -> None:
    for i in range(BARS):
        for symbol, candles in SERIES.items():
            candle = candles[i]
            await app.bus.publish(
                CandleClosed(
                    ts_ms=candle.ts_ms + STEP,
                    exchange="paper",
                    symbol=symbol,
                    timeframe="1m",
                    candle=candle,
                )
            )
    total = sum(expected_scored(c) for c in SERIES.values())
    await eventually(lambda: len(recorder.scores) == total)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    config = make_config(tmp_path, modules={"enabled": ["signal"]}, signal={"threshold": THRESHOLD})
    viper = ViperApp(config)
    async with viper.running():
        yield viper


@pytest.fixture
async def recorded(app: ViperApp) -> Recorder:
    recorder = Recorder(app)
    await feed(app, recorder)
    return recorder


@pytest.fixture
async def client(app: ViperApp, recorded: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://viper") as http:
        yield http


async def test_scores_on_the_bus_equal_the_batch_on_the_same_candles(recorded: Recorder) -> None:
    for symbol, candles in SERIES.items():
        arrays = batch(candles)
        events = {e.score.ts_ms: e for e in recorded.scores if e.symbol == symbol}
        for i, candle in enumerate(candles):
            event = events.get(candle.ts_ms)
            if np.isnan(arrays.score[i]) or arrays.direction[i] == 0:
                assert event is None
                continue
            assert event is not None and event.timeframe == "1m"
            assert event.ts_ms == candle.ts_ms + STEP
            s = event.score
            assert (s.score, s.volume, s.price, s.range, s.external) == (
                arrays.score[i],
                arrays.volume[i],
                arrays.price[i],
                arrays.range[i],
                arrays.external[i],
            )
            assert s.direction == ("long" if arrays.direction[i] == 1 else "short")


async def test_signals_are_generated_exactly_at_or_above_the_threshold(recorded: Recorder) -> None:
    for symbol, candles in SERIES.items():
        arrays = batch(candles)
        want = {candles[i].ts_ms + STEP for i in np.flatnonzero(arrays.signals(THRESHOLD))}
        got = [e for e in recorded.signals if e.symbol == symbol]
        assert want and {e.ts_ms for e in got} == want and len(got) == len(want)
        for event in got:
            i = (event.ts_ms - STEP - T0) // STEP
            assert event.score == arrays.score[i] and event.price == candles[i].close
            assert event.direction == ("long" if arrays.direction[i] == 1 else "short")


async def test_scores_route_returns_the_latest_per_symbol_with_components(
    client: httpx.AsyncClient, recorded: Recorder
) -> None:
    body = (await client.get("/signal/scores")).json()
    assert body["count"] == 2 and body["threshold"] == THRESHOLD
    last = {e.symbol: e for e in recorded.scores}
    for view in body["scores"]:
        event = last[view["symbol"]]
        assert view["score"] == event.score.score and view["ts_ms"] == event.score.ts_ms
        assert {"volume", "price", "range", "external", "direction", "close_ts_ms"} <= set(view)
    one = (await client.get("/signal/scores", params={"symbol": "ETH/USDT:USDT"})).json()
    assert [v["symbol"] for v in one["scores"]] == ["ETH/USDT:USDT"]


async def test_scores_history_returns_the_last_n_of_one_symbol(
    client: httpx.AsyncClient, recorded: Recorder
) -> None:
    body = (
        await client.get("/signal/scores", params={"symbol": "BTC/USDT:USDT", "history": 5})
    ).json()
    want = [e.score.score for e in recorded.scores if e.symbol == "BTC/USDT:USDT"][-5:]
    assert [v["score"] for v in body["scores"]] == want


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"symbol": "DOGE/USDT:USDT"}, 404, "symbol"),
        ({"symbol": "BTC/USDT:USDT", "history": 0}, 422, "history"),
        ({"symbol": "BTC/USDT:USDT", "history": "many"}, 422, "history"),
        ({"symbol": "BTC/USDT:USDT", "history": 501}, 422, "history"),
        ({"history": 3}, 422, "symbol"),
        ({"symbl": "BTC/USDT:USDT"}, 422, "symbl"),
    ],
)
async def test_scores_route_refuses_unknown_symbols_and_bad_values(
    client: httpx.AsyncClient, params: dict[str, object], status: int, field: str
) -> None:
    response = await client.get("/signal/scores", params=params)  # type: ignore[arg-type]
    assert response.status_code == status
    body = response.json()
    assert body["field"] == field
    if status == 404:
        assert "DOGE/USDT:USDT" in body["detail"]


async def test_signals_route_filters_and_pages_newest_first(
    client: httpx.AsyncClient, recorded: Recorder
) -> None:
    everything = (await client.get("/signal/signals", params={"limit": 1000})).json()
    assert everything["total"] == len(recorded.signals)
    stamps = [s["ts_ms"] for s in everything["signals"]]
    assert stamps == sorted(stamps, reverse=True)
    shorts = (
        await client.get("/signal/signals", params={"direction": "short", "limit": 1000})
    ).json()
    assert shorts["total"] == sum(1 for s in recorded.signals if s.direction == "short")
    eth = (
        await client.get("/signal/signals", params={"symbol": "ETH/USDT:USDT", "min_score": 80})
    ).json()
    assert all(s["symbol"] == "ETH/USDT:USDT" and s["score"] >= 80 for s in eth["signals"])
    since = stamps[len(stamps) // 2]
    recent = (await client.get("/signal/signals", params={"since_ms": since, "limit": 1000})).json()
    assert [s["ts_ms"] for s in recent["signals"]] == [t for t in stamps if t >= since]
    page = (await client.get("/signal/signals", params={"limit": 3, "offset": 2})).json()
    assert page["signals"] == everything["signals"][2:5] and page["limit"] == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"direction": "up"}, "direction"),
        ({"min_score": "high"}, "min_score"),
        ({"since_ms": "yesterday"}, "since_ms"),
    ],
)
async def test_signals_route_refuses_bad_values_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, object], field: str
) -> None:
    response = await client.get("/signal/signals", params=params)  # type: ignore[arg-type]
    assert response.status_code == 422
    assert response.json()["field"] == field


async def test_health_reports_what_was_scored(
    client: httpx.AsyncClient, recorded: Recorder
) -> None:
    body = (await client.get("/signal/health")).json()
    assert body["health"]["status"] == "ok"
    checks = body["health"]["checks"]
    assert checks["symbols_scored"] == 2 and checks["redis"] == "off"
    assert checks["scores"] == len(recorded.scores) and checks["signals"] == len(recorded.signals)
    assert checks["last_score_ms"] == max(e.ts_ms for e in recorded.scores)


async def test_openapi_documents_the_response_shapes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path, name in (("/signal/scores", "ScoresPage"), ("/signal/signals", "SignalsPage")):
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert schema["schema"]["$ref"].endswith(name)
    params = {p["name"] for p in spec["paths"]["/signal/signals"]["get"]["parameters"]}
    assert {"symbol", "direction", "min_score", "since_ms", "limit", "offset"} <= params


async def test_stop_is_safe_twice_and_before_start() -> None:
    module = SignalModule()
    await module.stop()
    await module.stop()
    assert module.health().checks["scores"] == 0
