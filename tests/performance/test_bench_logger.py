"""Logger benchmarks: ingestion into the index and search latency over 1M records.

Targets (issue: centralized logger): ingest >= 50k records/s into the index; search p99 < 50 ms
over 1M records. Also shown: ingestion through loguru with the module's sink, the tail, a
naive scan of the same records for comparison, and the memory the index takes.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import sys
import time

import psutil
import pytest
from loguru import logger

from tests.performance.conftest import Report
from viper.modules.logger.entries import LogFilter, words_of
from viper.modules.logger.index import LogIndex
from viper.modules.logger.sink import IndexSink, no_text
from viper.modules.logger.tail import LiveTail

RECORDS = 1_000_000
T0 = 1_700_000_000_000
MODULES = ("risk", "order", "exchange", "streamer", "signal", "live", "sync", "data", "api")
SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "XRP/USDT:USDT")
TEMPLATES = (
    "order {cid} for {sym} filled {amt:.4f} at {px:.2f}",
    "score {sc:.1f} for {sym} on 1m",
    "risk rejected intent {cid}: daily loss limit reached",
    "ticker {sym} last {px:.2f}",
    "position {sym} size {amt:.4f} synced with the exchange",
    "GET /api/positions -> 200 in {ms:.1f} ms",
    "candle closed {sym} 1m close {px:.2f}",
    "websocket reconnect attempt {n} for {sym}",
    "timeout talking to bitget after {ms:.0f} ms; retrying",
    "module {mod} health ok",
)
LEVELS = ((20, "INFO"),) * 7 + ((10, "DEBUG"), (30, "WARNING"), (40, "ERROR"))
QUERIES = (
    ("timeout", "retrying"),  # ~10% of records, two words
    ("daily", "loss", "limit"),  # ~10%, three words
    ("btc", "filled"),  # ~2.5%
    ("eth",),  # ~20%, one common word
    ("reconnect", "sol"),
    ("viper", "0000abcd"),  # one record id
    ("nothingmatches",),
)


def _messages(n: int, seed: int = 7) -> list[tuple[str, int, str, str, str]]:
    rng = random.Random(seed)
    rows = []
    request_ids = [f"r{j:x}" for j in range(n // 50 + 1)]  # one id per request, shared
    for i in range(n):
        text = rng.choice(TEMPLATES).format(
            cid=f"viper-{i:08x}",
            sym=rng.choice(SYMBOLS),
            amt=rng.random(),
            px=rng.random() * 60_000,
            sc=rng.random() * 100,
            ms=rng.random() * 100,
            n=rng.randint(1, 9),
            mod=rng.choice(MODULES),
        )
        level_no, level = LEVELS[i % len(LEVELS)]
        rows.append((text, level_no, level, MODULES[i % len(MODULES)], request_ids[i // 50]))
    return rows


@pytest.fixture(scope="module")
def loaded(report: Report) -> tuple[LogIndex, list[str]]:
    """1M records in an index sized for them; records ingestion speed and memory."""
    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    rows = _messages(RECORDS)
    index = LogIndex(RECORDS)
    started = time.perf_counter()
    for i, (text, level_no, level, module, request_id) in enumerate(rows):
        index.add(T0 + i, level_no, level, module, request_id, text)
    elapsed = time.perf_counter() - started
    rate = RECORDS / elapsed
    report.add(
        "logger: index ingestion (1M records)", rate, "records/s", ">= 50,000", rate >= 50_000
    )
    messages = [r[0] for r in rows]
    del rows
    gc.collect()
    rss = (psutil.Process().memory_info().rss - rss_before) / 2**20
    report.add("logger: memory of 1M records, index and texts", rss, "MB")
    return index, messages


def _latencies(index: LogIndex, f: LogFilter, runs: int) -> list[float]:
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        index.query(f, 0, 100)
        found.append((time.perf_counter() - started) * 1000)
    return found


def test_search_latency_over_a_million_records(
    report: Report, loaded: tuple[LogIndex, list[str]]
) -> None:
    index, _ = loaded
    samples: list[float] = []
    for words in QUERIES:
        samples += _latencies(index, LogFilter(words=tuple(sorted(words))), 40)
    filtered = LogFilter(
        words=("rejected",),
        min_level=30,
        modules=frozenset({"risk", "order"}),
        since_ms=T0 + RECORDS // 2,
    )
    samples += _latencies(index, filtered, 40)
    samples.sort()
    p50, p99 = statistics.median(samples), samples[int(len(samples) * 0.99)]
    report.add("logger: search p50 over 1M records (8 query shapes)", p50, "ms")
    report.add(
        "logger: search p99 over 1M records (8 query shapes)", p99, "ms", "< 50 ms", p99 < 50
    )
    tail = sorted(_latencies(index, LogFilter(min_level=30), 40))
    report.add("logger: tail p99 over 1M records (level >= WARNING)", tail[-1], "ms")


def test_naive_scan_for_comparison(report: Report, loaded: tuple[LogIndex, list[str]]) -> None:
    _, messages = loaded
    words = ("timeout", "retrying")
    started = time.perf_counter()
    hits = [m for m in messages if all(w in words_of(m) for w in words)]
    elapsed = (time.perf_counter() - started) * 1000
    assert hits
    report.add("logger: naive scan of 1M messages (same search, for scale)", elapsed, "ms")


def test_ingestion_through_loguru_with_the_sink(report: Report) -> None:
    n = 200_000
    index = LogIndex(n)
    loop = asyncio.new_event_loop()
    logger.remove()  # only the module's sink: the figure is its cost, not the console's
    sink_id = logger.add(
        IndexSink(index, LiveTail(loop, 10)), level="DEBUG", format=no_text, catch=False
    )
    try:
        bound = logger.bind(module="order")
        started = time.perf_counter()
        for i in range(n):
            bound.info("order viper-{} for BTC/USDT:USDT filled at {}", i, 60_000 + i)
        elapsed = time.perf_counter() - started
    finally:
        logger.remove(sink_id)
        logger.add(sys.stderr)
        loop.close()
    assert len(index) == n
    report.add("logger: loguru -> sink -> index (no other sink)", n / elapsed, "records/s")
