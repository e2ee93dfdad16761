"""VIPER score benchmarks: batch over many symbols, one live update, and kernel compile time.

Targets (issue: VIPER score): 500 symbols x 1,000 bars scored in < 50 ms after warm-up (median
of 5); one incremental update per candle < 20 us (mean over 100k); first-call compile time
reported cold (empty numba cache, in a fresh process) and warm (loaded from the cache).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.performance.conftest import Report
from viper.domain import Candle
from viper.scoring import IncrementalScorer, ScoreParams, score_many, warm_up

SYMBOLS, BARS = 500, 1_000
UPDATES = 100_000
ROOT = Path(__file__).resolve().parents[2]

COMPILE_SCRIPT = """
import json, time
started = time.perf_counter()
from viper.scoring import warm_up
imported = time.perf_counter()
warm_up()
done = time.perf_counter()
print(json.dumps({"import": imported - started, "first_call": done - imported}))
"""


def _market(symbols: int, bars: int, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, (symbols, bars)), axis=1))
    open_ = np.concatenate([close[:, :1], close[:, :-1]], axis=1)
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.002, close.shape))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.002, close.shape))
    volume = rng.lognormal(3, 0.8, close.shape)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def _timed(run: Callable[[], object], repeats: int = 5) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return samples


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
def test_batch_scoring_500_symbols_by_1000_bars(report: Report, parallel: bool) -> None:
    market = _market(SYMBOLS, BARS)
    score_many(**market, parallel=parallel)  # warm-up: compile or load from the cache
    median = statistics.median(_timed(lambda: score_many(**market, parallel=parallel))) * 1e3
    label = "parallel" if parallel else "1 thread"
    report.add(
        f"score batch 500 sym x 1,000 bars, {label} (median of 5)",
        median,
        "ms",
        "< 50 ms",
        median < 50.0,
    )


def test_incremental_update_per_candle(report: Report) -> None:
    warm_up()
    market = _market(100, UPDATES // 100 + 1)
    names = [f"SYM{i}/USDT:USDT" for i in range(100)]
    candles = [
        (
            names[s],
            Candle(
                ts_ms=1_700_000_000_000 + b * 60_000,
                open=float(market["open"][s, b]),
                high=float(market["high"][s, b]),
                low=float(market["low"][s, b]),
                close=float(market["close"][s, b]),
                volume=float(market["volume"][s, b]),
            ),
        )
        for b in range(UPDATES // 100)
        for s in range(100)
    ]
    scorer = IncrementalScorer(ScoreParams())
    update = scorer.update
    started = time.perf_counter()
    for symbol, candle in candles:
        update(symbol, candle)
    mean_us = (time.perf_counter() - started) / len(candles) * 1e6
    report.add(
        "score incremental update per candle (mean of 100k)",
        mean_us,
        "us",
        "< 20 us",
        mean_us < 20.0,
    )
    step = scorer.step
    started = time.perf_counter()
    for _ in range(UPDATES):
        step("SYM0/USDT:USDT", 100.0, 101.0, 99.0, 100.5, 10.0, math.nan, math.nan)
    report.add(
        "score kernel step called from Python (mean of 100k)",
        (time.perf_counter() - started) / UPDATES * 1e6,
        "us",
    )


def _compile_run(cache_dir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", COMPILE_SCRIPT],
        cwd=ROOT,
        env={**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)},
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def test_first_call_compile_time_cold_and_from_the_cache(report: Report, tmp_path: Path) -> None:
    cold = _compile_run(tmp_path)  # an empty cache directory: everything compiles
    warm = _compile_run(tmp_path)  # the same directory, now filled: loaded from the cache
    report.add("score import: viper.scoring with numba and polars", cold["import"], "s")
    report.add(
        "score first call, cold (empty numba cache)",
        cold["first_call"],
        "s",
        "< 5 s",
        cold["first_call"] < 5.0,
    )
    report.add(
        "score first call, warm (from the numba cache)",
        warm["first_call"],
        "s",
        "< 1 s",
        warm["first_call"] < 1.0,
    )
