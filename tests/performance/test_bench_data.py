"""Data layer benchmarks: 1M one-minute candles written, read, range-read, imported from CSV.

Targets (issue: data layer): read 1M candles from the store < 100 ms (median of 5); import a
1M-row CSV < 2 s; generate 1M synthetic bars < 1 s. Figures only; speed is not asserted.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import redis.asyncio as redis_asyncio

from tests.conftest import SHARED_DATA, redis_reachable
from tests.performance.conftest import Report
from viper.cache import Cache
from viper.clock import LiveClock
from viper.marketdata.importers import import_file
from viper.marketdata.synthetic import generate
from viper.modules.data.service import FRAME_CODEC
from viper.store.candles import CandleStore

N = 1_000_000
EX, SYM, TF = "binance", "BTC/USDT:USDT", "1m"
START = 1_577_836_800_000  # 2020-01-01 00:00 UTC
REAL_5M = SHARED_DATA / "ohlcv/kiduki555__freqtrade_kiduki/binance/BTC_USDT-5m.feather"


def timed(action: Callable[[], object], runs: int) -> tuple[float, object]:
    """Median seconds over `runs` calls, and the last result."""
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


@pytest.fixture(scope="module")
def million(report: Report) -> pl.DataFrame:
    seconds, frames = timed(lambda: generate([SYM], TF, START, N), 3)
    report.add("synthetic: generate 1M 1m candles (median of 3)", seconds * 1000, "ms",
               "< 1000 ms", seconds < 1.0)  # fmt: skip
    frame: pl.DataFrame = frames[SYM]  # type: ignore[index]
    return frame


@pytest.fixture(scope="module")
def stored(million: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> CandleStore:
    store = CandleStore(tmp_path_factory.mktemp("bench-store"))
    store.write(EX, SYM, TF, million)
    return store


def test_write_1m_candles(report: Report, million: pl.DataFrame, tmp_path: Path) -> None:
    roots = iter(range(3))
    seconds, result = timed(
        lambda: CandleStore(tmp_path / str(next(roots))).write(EX, SYM, TF, million), 3
    )
    assert result.rows_total == N  # type: ignore[attr-defined]
    report.add("store: write 1M candles (validate+zstd+fsync, median of 3)", seconds * 1000, "ms")
    report.add("store: write throughput", N / seconds, "rows/s")


def test_read_1m_candles(report: Report, stored: CandleStore) -> None:
    stored.read(EX, SYM, TF)  # warm the page cache, as a running process would have it
    seconds, frame = timed(lambda: stored.read(EX, SYM, TF), 5)
    assert frame.height == N  # type: ignore[attr-defined]
    report.add(
        "store: read 1M candles (median of 5)", seconds * 1000, "ms", "< 100 ms", seconds < 0.1
    )


def test_range_read_10k_from_the_middle(report: Report, stored: CandleStore) -> None:
    start = START + (N // 2) * 60_000
    seconds, frame = timed(lambda: stored.read(EX, SYM, TF, start, start + 10_000 * 60_000), 5)
    assert frame.height == 10_000  # type: ignore[attr-defined]
    report.add("store: range read 10k rows from the middle (median of 5)", seconds * 1000, "ms")
    seconds, frame = timed(lambda: stored.read(EX, SYM, TF, limit=500, descending=True), 5)
    report.add("store: newest 500 rows, descending (median of 5)", seconds * 1000, "ms")


def test_append_one_candle_to_a_1m_candle_dataset(
    report: Report, million: pl.DataFrame, tmp_path: Path
) -> None:
    store = CandleStore(tmp_path)
    store.write(EX, SYM, TF, million)
    bars = iter(range(N, N + 3))

    def append() -> object:
        i = next(bars)
        bar = million.tail(1).with_columns(pl.lit(START + i * 60_000).alias("timestamp"))
        return store.write(EX, SYM, TF, bar)

    seconds, _ = timed(append, 3)
    report.add(
        "store: append 1 candle to 1M (whole-file rewrite, median of 3)", seconds * 1000, "ms"
    )


def test_import_a_1m_row_csv(report: Report, million: pl.DataFrame, tmp_path: Path) -> None:
    csv = tmp_path / "BTC_USDT_USDT-1m-futures.csv"
    text_dates = pl.from_epoch("timestamp", time_unit="ms").dt.strftime("%Y-%m-%d %H:%M:%S")
    million.select(text_dates.alias("date"), "open", "high", "low", "close", "volume").write_csv(
        csv
    )
    roots = iter(range(3))
    seconds, result = timed(
        lambda: import_file(CandleStore(tmp_path / str(next(roots))), csv, EX, progress=False), 3
    )
    assert result.rows_total == N  # type: ignore[attr-defined]
    size_mb = csv.stat().st_size / 1e6
    report.add(f"import: 1M-row CSV, ISO dates ({size_mb:.0f} MB, median of 3)", seconds, "s", "< 2 s",
               seconds < 2.0)  # fmt: skip
    ms_csv = tmp_path / "candles-ms.csv"  # no symbol or timeframe in the name: both inferred/given
    million.write_csv(ms_csv)
    ms_roots = iter(range(3))
    seconds, _ = timed(
        lambda: import_file(
            CandleStore(tmp_path / f"ms{next(ms_roots)}"), ms_csv, EX, SYM, TF, False
        ),
        3,
    )
    report.add("import: 1M-row CSV, epoch-ms timestamps (median of 3)", seconds, "s", "< 2 s",
               seconds < 2.0)  # fmt: skip


def test_bytes_on_disk_per_million_candles(
    report: Report, stored: CandleStore, tmp_path: Path
) -> None:
    synthetic = stored.path(EX, SYM, TF).stat().st_size
    report.add("disk: 1M synthetic candles (random floats, zstd)", synthetic / 1e6, "MB")
    real = CandleStore(tmp_path)
    result = import_file(real, REAL_5M, "binance", progress=False)
    per_row = real.path("binance", "BTC/USDT", "5m").stat().st_size / result.rows_total
    report.add("disk: real BTC/USDT 5m candles, scaled to 1M rows", per_row * N / 1e6, "MB")


def test_cache_hit_latency(report: Report) -> None:
    """A memory hit and a Redis hit of a cached 1,000-candle frame, through viper.cache.Cache."""

    frame = generate(["BTC/USDT:USDT"], "1m", 1_704_067_200_000, 1_000)["BTC/USDT:USDT"]

    async def loader() -> object:
        return frame

    async def measure(cache: Cache, key: str, n: int, drop_memory: bool) -> float:
        await cache.get("market_data", key, loader, FRAME_CODEC)
        samples = []
        for _ in range(n):
            if drop_memory:
                cache.memory.drop("market_data", key)
            started = time.perf_counter()
            await cache.get("market_data", key, loader, FRAME_CODEC)
            samples.append(time.perf_counter() - started)
        samples.sort()
        return samples[len(samples) // 2]

    memory = asyncio.run(
        measure(
            Cache(ttls={"market_data": 300}, max_entries=16, clock=LiveClock()),
            "bench:m",
            20_000,
            False,
        )
    )
    report.add("cache hit latency: memory (median)", memory * 1e6, "us")
    if redis_reachable() is None:

        async def redis_run() -> float:
            client = redis_asyncio.Redis.from_url("redis://127.0.0.1:6379/14")
            try:
                cache = Cache(
                    ttls={"market_data": 300}, max_entries=16, clock=LiveClock(), redis=client
                )
                return await measure(cache, "market_data:BENCH:1m", 500, True)
            finally:
                await client.delete("market_data:BENCH:1m")
                await client.aclose()

        report.add(
            "cache hit latency: Redis, 1,000 candles (median)", asyncio.run(redis_run()) * 1e3, "ms"
        )
