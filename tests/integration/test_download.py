"""Candle downloads end to end: the real ccxt bitget client against the fake Bitget server."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp
import ccxt.async_support as ccxt
import polars as pl
import pytest
from ccxt.async_support import Exchange

from tests.fakes.bitget import FakeBitget, LoggedRequest, Row, envelope, make_candles
from viper.clock import LiveClock, TestClock
from viper.errors import ExchangeError, NotFoundError, TemporaryError, ViperError
from viper.marketdata.download import (
    DownloadProgress,
    ccxt_errors,
    download_candles,
    download_many,
    make_exchange,
    page_frame,
)
from viper.resilience import RetryPolicy

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
MINUTE = 60_000
START = 1_704_067_200_000  # 2024-01-01T00:00Z: old enough for ccxt to use history-candles
COUNT = 10_000
MARKET = "/api/v2/mix/market/"
HISTORY = "/api/v2/mix/market/history-candles"
CANDLE_PATHS = ("/api/v2/mix/market/candles", HISTORY)
FAST_RETRY = RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.05, jitter=0.0)


class FrameSink:
    """A store writer keeping every page in memory; `on_page(n)` runs after page n is stored."""

    def __init__(self, on_page: Callable[[int], None] | None = None) -> None:
        self.frames: list[pl.DataFrame] = []
        self.on_page = on_page

    async def __call__(self, frame: pl.DataFrame) -> None:
        self.frames.append(frame)
        if self.on_page is not None:
            self.on_page(len(self.frames))

    def frame(self) -> pl.DataFrame:
        return pl.concat(self.frames)


def source_frame(rows: Sequence[Sequence[str]]) -> pl.DataFrame:
    """The fake's rows as the store would hold them (volume is the base-coin volume)."""
    return pl.DataFrame(
        {
            "timestamp": [int(r[0]) for r in rows],
            **{
                name: [float(r[i]) for r in rows]
                for i, name in enumerate(("open", "high", "low", "close", "volume"), 1)
            },
        }
    )


def assert_complete(frame: pl.DataFrame, source: pl.DataFrame) -> None:
    """No duplicates, no gaps, and exactly the source candles."""
    assert frame["timestamp"].n_unique() == frame.height
    assert frame["timestamp"].diff().drop_nulls().unique().to_list() == [MINUTE]
    assert frame.sort("timestamp").equals(source)


def candle_requests(fake: FakeBitget) -> list[LoggedRequest]:
    return [r for r in fake.requests(MARKET) if r.path in CANDLE_PATHS]


@pytest.fixture
async def fake() -> AsyncIterator[FakeBitget]:
    async with FakeBitget() as server:
        yield server


@pytest.fixture
def rows(fake: FakeBitget) -> list[Row]:
    rows = make_candles(START, COUNT)
    fake.set_candles(BTC, "1m", rows)
    return rows


@pytest.fixture
async def exchange(fake: FakeBitget) -> AsyncIterator[Exchange]:
    client = make_exchange("bitget", api_url=fake.url, timeout_ms=2_000, rate_limit_ms=1)
    client.timeout_on_exit = 0  # ccxt lingers 250 ms on close for TLS; loopback needs none
    yield client
    await client.close()


@pytest.fixture
def clock() -> TestClock:
    """A day after the last source candle closed."""
    return TestClock(start=(START + COUNT * MINUTE) / 1000 + 86_400)


async def test_downloads_10000_candles_through_server_faults(
    fake: FakeBitget, exchange: Exchange, rows: list[Row], clock: TestClock
) -> None:
    def inject(page: int) -> None:
        if page == 10:
            fake.fail_next(3, status=500, path=HISTORY)
            fake.fail_next(1, status=429, path=HISTORY)
            fake.drop_next(2, path=HISTORY)  # aiohttp itself re-sends after the first

    sink, reports = FrameSink(inject), list[DownloadProgress]()

    result = await download_candles(
        exchange,
        sink,
        BTC,
        "1m",
        START,
        clock=clock,
        retry_policy=FAST_RETRY,
        progress=reports.append,
    )

    assert_complete(sink.frame(), source_frame(rows))
    assert (result.candles, result.pages, result.retries) == (COUNT, 50, 5)
    assert (result.first_ms, result.last_ms) == (START, START + (COUNT - 1) * MINUTE)
    outcomes = [r.outcome for r in candle_requests(fake)]
    assert outcomes.count("fail") == 4 and outcomes.count("drop") == 2
    assert all(int(r.params["limit"]) <= 200 for r in candle_requests(fake))
    assert reports[0].candles == 0 and reports[0].eta_s is None
    assert (reports[-1].candles, reports[-1].expected, reports[-1].eta_s) == (COUNT, COUNT, 0.0)


async def test_resumes_after_the_last_stored_candle_without_refetching(
    fake: FakeBitget, exchange: Exchange, rows: list[Row], clock: TestClock
) -> None:
    def break_for_good(page: int) -> None:
        if page == 20:
            fake.fail_next(100, status=503, path=HISTORY)

    first = FrameSink(break_for_good)
    with pytest.raises(TemporaryError):
        await download_candles(
            exchange, first, BTC, "1m", START, clock=clock, retry_policy=FAST_RETRY
        )
    stored_last: int = first.frame()["timestamp"].to_list()[-1]
    assert first.frame().height == 20 * 200
    fake.clear_faults()
    seen = len(fake.log)

    second = FrameSink()
    result = await download_candles(
        exchange,
        second,
        BTC,
        "1m",
        START,
        clock=clock,
        resume_from=stored_last,
        retry_policy=FAST_RETRY,
    )

    assert_complete(pl.concat([first.frame(), second.frame()]), source_frame(rows))
    assert result.first_ms == stored_last + MINUTE
    starts = [int(r.params["startTime"]) for r in fake.log[seen:] if r.path in CANDLE_PATHS]
    assert starts[0] == stored_last + MINUTE
    assert min(starts) > stored_last


async def test_unknown_symbol_is_not_found(
    fake: FakeBitget, exchange: Exchange, rows: list[Row], clock: TestClock
) -> None:
    with pytest.raises(NotFoundError, match="DOGE/USDT:USDT"):
        await download_candles(exchange, FrameSink(), "DOGE/USDT:USDT", "1m", START, clock=clock)
    assert candle_requests(fake) == []


async def test_permanent_exchange_error_fails_fast(
    fake: FakeBitget, exchange: Exchange, rows: list[Row], clock: TestClock
) -> None:
    refused = json.dumps(envelope(None, "40034", "Parameter BTCUSDT does not exist"))
    fake.fail_next(1, status=400, body=refused, path=HISTORY)

    with pytest.raises(ExchangeError, match="40034"):
        await download_candles(
            exchange, FrameSink(), BTC, "1m", START, clock=clock, retry_policy=FAST_RETRY
        )
    assert len(candle_requests(fake)) == 1


async def test_the_open_candle_is_not_stored(fake: FakeBitget, exchange: Exchange) -> None:
    now_ms = time.time_ns() // 1_000_000
    open_ms = now_ms - now_ms % MINUTE
    rows = make_candles(open_ms - 299 * MINUTE, 300)  # the last one is still forming
    fake.set_candles(BTC, "1m", rows)
    sink = FrameSink()

    result = await download_candles(
        exchange, sink, BTC, "1m", open_ms - 299 * MINUTE, clock=TestClock(start=now_ms / 1000)
    )

    assert result.last_ms == open_ms - MINUTE
    assert open_ms not in sink.frame()["timestamp"].to_list()
    assert_complete(sink.frame(), source_frame(rows[:-1]))
    assert {r.path for r in candle_requests(fake)} == {"/api/v2/mix/market/candles"}


@pytest.mark.parametrize("ccxt_throttle", [True, False], ids=["ccxt+viper", "viper-only"])
async def test_requests_are_spaced_by_the_rate_limit(fake: FakeBitget, ccxt_throttle: bool) -> None:
    fake.set_candles(BTC, "1m", make_candles(START, 2_000))
    client = make_exchange("bitget", api_url=fake.url, rate_limit_ms=50)
    client.enableRateLimit, client.timeout_on_exit = ccxt_throttle, 0
    try:
        await download_candles(client, FrameSink(), BTC, "1m", START, clock=LiveClock())
    finally:
        await client.close()

    arrivals = [r.at for r in candle_requests(fake)]
    assert len(arrivals) == 11  # ten pages, then one that finds nothing newer
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.045, gaps


async def test_a_request_timeout_is_retried(
    fake: FakeBitget, rows: list[Row], clock: TestClock
) -> None:
    client = make_exchange("bitget", api_url=fake.url, timeout_ms=250, rate_limit_ms=1)
    client.timeout_on_exit = 0
    fake.delay_next(1, 3.0, path=HISTORY)
    sink = FrameSink()
    try:
        result = await download_candles(
            client, sink, BTC, "1m", START, clock=clock, retry_policy=FAST_RETRY
        )
    finally:
        await client.close()

    assert result.retries == 1
    assert_complete(sink.frame(), source_frame(rows))
    first, second = candle_requests(fake)[:2]
    assert (first.outcome, second.outcome) == ("delay", "ok")
    assert first.params == second.params


async def test_stops_at_until_ms(
    fake: FakeBitget, exchange: Exchange, rows: list[Row], clock: TestClock
) -> None:
    sink = FrameSink()

    result = await download_candles(
        exchange,
        sink,
        BTC,
        "1m",
        START + 30_000,
        START + 1_440 * MINUTE,
        clock=clock,
        page_size=500,
    )

    assert (result.first_ms, result.candles) == (START + MINUTE, 1_439)
    assert_complete(sink.frame(), source_frame(rows[1:1_440]))


async def test_download_many_with_progress_bars(
    fake: FakeBitget, exchange: Exchange, clock: TestClock
) -> None:
    sources = {BTC: make_candles(START, 1_000, seed=1), ETH: make_candles(START, 700, seed=2)}
    for symbol, rows in sources.items():
        fake.set_candles(symbol, "1m", rows)
    sinks = {symbol: FrameSink() for symbol in sources}

    results = await download_many(
        exchange,
        sinks.__getitem__,
        [BTC, ETH],
        "1m",
        START,
        clock=clock,
        progress=True,
        resume_from={ETH: START + 99 * MINUTE},
    )

    assert [(r.symbol, r.candles) for r in results] == [(BTC, 1_000), (ETH, 600)]
    assert_complete(sinks[BTC].frame(), source_frame(sources[BTC]))
    assert_complete(sinks[ETH].frame(), source_frame(sources[ETH][100:]))


async def test_fake_caps_pages_as_bitget_documents(fake: FakeBitget) -> None:
    now_ms = time.time_ns() // 1_000_000
    fake.set_candles(BTC, "1m", make_candles(now_ms - now_ms % MINUTE - 2_999 * MINUTE, 3_000))
    query = {
        "symbol": "BTCUSDT",
        "productType": "USDT-FUTURES",
        "granularity": "1m",
        "limit": "5000",
    }
    async with aiohttp.ClientSession() as session:
        sizes = []
        for path in CANDLE_PATHS:
            async with session.get(fake.url + path, params=query) as response:
                sizes.append(len((await response.json())["data"]))

    assert sizes == [1_000, 200]


def test_progress_eta_extrapolates_the_rate() -> None:
    report = DownloadProgress(
        symbol=BTC, timeframe="1m", candles=250, expected=1_000, pages=1, elapsed_s=2.0
    )

    assert report.eta_s == pytest.approx(6.0)


def test_a_page_keeps_each_closed_bar_in_range_once() -> None:
    rows = [[START + m * MINUTE, 10.0, 12.0, 9.0, 11.0, 1.0] for m in (3, 1, 2, 2, 0, 4)]

    frame = page_frame(rows, START + MINUTE, START + 4 * MINUTE, "1m", "test")

    assert frame["timestamp"].to_list() == [START + m * MINUTE for m in (1, 2, 3)]


def every_ccxt_error() -> list[type[Exception]]:
    found, todo = set(), [ccxt.BaseError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize("error", every_ccxt_error(), ids=lambda c: c.__name__)
def test_every_ccxt_error_is_mapped(error: type[Exception]) -> None:
    expected = TemporaryError if issubclass(error, ccxt.OperationFailed) else ViperError

    with pytest.raises(expected) as caught, ccxt_errors("bitget", BTC):
        raise error("boom")

    assert isinstance(caught.value.__cause__, error)
    not_found = (ccxt.BadSymbol, ccxt.OrderNotFound, ccxt.OrderNotCached)
    assert isinstance(caught.value, NotFoundError) == issubclass(error, not_found)
