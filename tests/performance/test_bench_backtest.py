"""Backtester benchmarks: VIPER against vectorbt and backtesting.py, start-up, and the load test.

Data (real candles, built here, never copied into the repo):
* 1M one-minute bars: the six real 1m perpetual series of `typhonun__DcaTpStrategy` (BTC,
  ETH, SOL, XRP, BNB, LINK; 272,188 bars) laid end to end, each segment rescaled to open at
  the previous segment's close, repeated and cut at 1,000,000 bars on a continuous 1m clock.
* load test: BTC, ETH and SOL, each its own real 1m series tiled the same way (rescaled to
  continue from its last close) to 4 years = 2,102,400 bars, 6,307,200 bars in all.

Targets: VIPER >= 2x vectorbt and >= 100x backtesting.py on `sma_cross` with stop-loss and
take-profit after warm-up; first backtest in a fresh process < 1 s with a warm numba cache;
`viper` strategy on 3 symbols x 4 years of 1m bars in < 10 s with peak RSS < 1 GB.
Timed after a warm-up run (numba compilation or cache load). VIPER's `run_backtest` is timed
end to end (signals, simulation, metrics, trade list); vectorbt as its signals (`MA.run`,
crossings) plus `Portfolio.from_signals`; backtesting.py as `Backtest.run` with precomputed
SMAs. Fees are zero in all three (see FEES). Benchmarks measure and print; they do not assert
speed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest

from tests.conftest import REPO, SHARED_DATA
from tests.performance.conftest import Report
from viper.backtest import BacktestSettings, FeeModel, run_backtest
from viper.backtest.portfolio import prepare, simulate
from viper.config import RiskConfig
from viper.marketdata.importers import load_file
from viper.strategies import get_strategy

MINUTE = 60_000
ONE_MILLION = 1_000_000
FOUR_YEARS = 4 * 365 * 1440
ONE_MINUTE = SHARED_DATA / "ohlcv" / "typhonun__DcaTpStrategy" / "binance" / "futures"
SIX = ("BTC", "ETH", "SOL", "XRP", "BNB", "LINK")
PARAMS = {"fast": 10, "slow": 50, "sl_pct": 0.01, "tp_pct": 0.02}
# no fees in the speed race: on a losing strategy the peers run out of money and stop trading
# after a few thousand trades, VIPER (no minimum size set) does not: all three must do the same
FEES = FeeModel(taker_fee=0.0, maker_fee=0.0, slippage_bps=0.0, funding=False)
RISK = RiskConfig(max_drawdown=1.0, daily_loss_limit=1.0, max_notional_per_symbol=1e15)


def _series(base: str) -> dict[str, np.ndarray]:
    frame = load_file(ONE_MINUTE / f"{base}_USDT_USDT-1m-futures.feather").frame
    return {k: frame[k].to_numpy() for k in ("open", "high", "low", "close", "volume")}


def tiled(bases: tuple[str, ...], n: int, start_ms: int) -> pl.DataFrame:
    """Real 1m segments end to end, each rescaled to open at the previous close, `n` bars."""
    segments = [_series(b) for b in bases]
    out = {k: np.empty(n) for k in ("open", "high", "low", "close", "volume")}
    done, last, i = 0, None, 0
    while done < n:
        seg = segments[i % len(segments)]
        take = min(n - done, seg["close"].shape[0])
        scale = 1.0 if last is None else last / seg["open"][0]
        for k in ("open", "high", "low", "close"):
            out[k][done : done + take] = seg[k][:take] * scale
        out["volume"][done : done + take] = seg["volume"][:take]
        last, done, i = out["close"][done + take - 1], done + take, i + 1
    timestamps = start_ms + np.arange(n, dtype=np.int64) * MINUTE
    return pl.DataFrame({"timestamp": timestamps, **out})


@pytest.fixture(scope="module")
def million() -> pl.DataFrame:
    if not ONE_MINUTE.is_dir():
        pytest.skip(f"real 1m candles not found under {ONE_MINUTE}")
    return tiled(SIX, ONE_MILLION, 1_600_000_000_000 - 1_600_000_000_000 % MINUTE)


def best_of(fn: Callable[[], Any], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times) if runs < 3 else statistics.median(times)


def viper_run(frame: pl.DataFrame) -> Any:
    return run_backtest(
        {"X": frame}, "sma_cross", PARAMS, fees=FEES, risk=RISK, timeframe="1m", curve_points=2000
    )


def test_viper_sma_cross_one_million_bars(report: Report, million: pl.DataFrame) -> None:
    viper_run(million)  # warm-up (numba cache load or compile)
    total = best_of(lambda: viper_run(million))
    settings = BacktestSettings(fees=FEES, risk=RISK, timeframe="1m")
    strategy = get_strategy("sma_cross")
    params = strategy.params(PARAMS)
    prepared = prepare({"X": million}, strategy, params, settings)
    kernel = best_of(lambda: simulate(prepared, settings))
    signals = best_of(lambda: prepare({"X": million}, strategy, params, settings))
    trades = viper_run(million).total_trades
    report.add(
        "backtest 1M bars sma_cross+SL/TP: VIPER run_backtest", ONE_MILLION / total, "bars/s"
    )
    report.add("  VIPER run_backtest wall time (signals+engine+result)", total, "s")
    report.add("  VIPER signals + layout only", signals, "s")
    report.add("  VIPER engine kernel only", kernel, "s")
    report.add("  VIPER trades", trades, "trades")
    RESULTS["viper"], RESULTS["viper_kernel"] = total, kernel


RESULTS: dict[str, float] = {}


def test_vectorbt_sma_cross_one_million_bars(report: Report, million: pl.DataFrame) -> None:
    vbt = pytest.importorskip("vectorbt", reason="vectorbt is not installed (bench group)")
    pd = pytest.importorskip("pandas")
    index = pd.to_datetime(million["timestamp"].to_numpy(), unit="ms")
    close = pd.Series(million["close"].to_numpy(), index=index)
    open_ = pd.Series(million["open"].to_numpy(), index=index)
    high = pd.Series(million["high"].to_numpy(), index=index)
    low = pd.Series(million["low"].to_numpy(), index=index)
    fast, slow = vbt.MA.run(close, 10), vbt.MA.run(close, 50)
    up = fast.ma_crossed_above(slow).shift(
        1, fill_value=False
    )  # decided at close, filled next open
    down = fast.ma_crossed_below(slow).shift(1, fill_value=False)

    def run() -> Any:
        return vbt.Portfolio.from_signals(
            close,
            entries=up,
            exits=down,
            short_entries=down,
            short_exits=up,
            price=open_,
            open=open_,
            high=high,
            low=low,
            sl_stop=0.01,
            tp_stop=0.02,
            init_cash=10_000,
            freq="1min",
        )

    def signals() -> Any:
        fast, slow = vbt.MA.run(close, 10), vbt.MA.run(close, 50)
        return fast.ma_crossed_above(slow), fast.ma_crossed_below(slow)

    run()  # warm-up: numba compilation
    signals()
    simulation = best_of(run)
    elapsed = simulation + best_of(signals)
    trades = run().trades.count()
    report.add("backtest 1M bars sma_cross+SL/TP: vectorbt", ONE_MILLION / elapsed, "bars/s")
    report.add("  vectorbt signals + from_signals wall time", elapsed, "s")
    report.add("  vectorbt from_signals only", simulation, "s")
    report.add("  vectorbt trades", float(trades), "trades")
    if "viper" in RESULTS:
        ratio = elapsed / RESULTS["viper"]
        report.add("VIPER / vectorbt speed (whole backtest)", ratio, "x", ">= 2x", ratio >= 2)
        kernels = simulation / RESULTS["viper_kernel"]
        report.add("VIPER / vectorbt speed (simulation only)", kernels, "x", ">= 2x", kernels >= 2)


def test_backtesting_py_sma_cross_one_million_bars(report: Report, million: pl.DataFrame) -> None:
    lib = pytest.importorskip("backtesting.lib", reason="backtesting.py is not installed")
    bt = pytest.importorskip("backtesting")
    pd = pytest.importorskip("pandas")
    close = million["close"].to_numpy()
    fast = pd.Series(close).rolling(10).mean().to_numpy()
    slow = pd.Series(close).rolling(50).mean().to_numpy()

    class Cross(bt.Strategy):  # type: ignore[misc,name-defined]
        def init(self) -> None:
            self.fast = self.I(lambda: fast)
            self.slow = self.I(lambda: slow)

        def next(self) -> None:
            price = self.data.Close[-1]
            if lib.crossover(self.fast, self.slow):
                self.position.close()
                self.buy(size=0.9999, sl=price * 0.99, tp=price * 1.02)
            elif lib.crossover(self.slow, self.fast):
                self.position.close()
                self.sell(size=0.9999, sl=price * 1.01, tp=price * 0.98)

    data = pd.DataFrame(
        {c.capitalize(): million[c].to_numpy() for c in ("open", "high", "low", "close", "volume")},
        index=pd.to_datetime(million["timestamp"].to_numpy(), unit="ms"),
    )
    engine = bt.Backtest(data, Cross, cash=1e12, finalize_trades=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        stats = engine.run()
        elapsed = time.perf_counter() - started
    report.add("backtest 1M bars sma_cross+SL/TP: backtesting.py", ONE_MILLION / elapsed, "bars/s")
    report.add("  backtesting.py wall time", elapsed, "s")
    report.add("  backtesting.py trades", float(stats["# Trades"]), "trades")
    if "viper" in RESULTS:
        ratio = elapsed / RESULTS["viper"]
        report.add("VIPER / backtesting.py speed", ratio, "x", ">= 100x", ratio >= 100)


FIRST_RUN = """
import json, resource, time
t0 = time.perf_counter()
from viper.backtest import run_backtest
from viper.marketdata.importers import load_file
frame = load_file({path!r}).frame
t1 = time.perf_counter()
result = run_backtest({{"BTC": frame}}, "sma_cross", {params!r})
t2 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "first": t2 - t1, "trades": result.total_trades}}))
"""


def _python(code: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - started
    return result


def test_first_backtest_in_a_fresh_process(report: Report) -> None:
    path = (
        SHARED_DATA
        / "ohlcv/Roshan7869__algotrading/binance/futures/BTC_USDT_USDT-1h-futures.feather"
    )
    code = FIRST_RUN.format(path=str(path), params=PARAMS)
    with tempfile.TemporaryDirectory() as cache:
        cold = _python(code, {"NUMBA_CACHE_DIR": cache})  # empty cache: compiles everything
        warm = _python(code, {"NUMBA_CACHE_DIR": cache})  # the cache the cold run wrote
    report.add(
        "fresh process, warm numba cache: first backtest (58k bars)",
        warm["first"],
        "s",
        "< 1 s",
        warm["first"] < 1.0,
    )
    report.add("  same, imports + first backtest", warm["imports"] + warm["first"], "s")
    report.add("  same, whole process incl. interpreter start", warm["process"], "s")
    report.add("fresh process, empty numba cache: first backtest", cold["first"], "s")


LOAD_TEST = """
import json, time
import numpy as np
from tests.performance.conftest import peak_rss_mb
from tests.performance.test_bench_backtest import tiled, FOUR_YEARS
from viper.backtest import run_backtest
from viper.config import RiskConfig
# no kill switch or daily stop: the run trades through all four years (the heavier case)
risk = RiskConfig(max_drawdown=1.0, daily_loss_limit=1.0)
start = 1_600_000_000_000 - 1_600_000_000_000 % 60_000
frames = {{f"{{b}}/USDT:USDT": tiled((b,), FOUR_YEARS, start) for b in ("BTC", "ETH", "SOL")}}
built = peak_rss_mb()
t0 = time.perf_counter()
run_backtest({{k: v.head(5_000) for k, v in frames.items()}}, "viper", {{}})  # warm-up
t1 = time.perf_counter()
result = run_backtest(frames, "viper", {{}}, risk=risk)
t2 = time.perf_counter()
peak = peak_rss_mb()
print(json.dumps({{"warmup": t1 - t0, "run": t2 - t1, "peak_mb": peak, "frames_mb": built,
                  "bars": result.bars * len(result.symbols), "trades": result.total_trades}}))
"""


def test_load_viper_three_symbols_four_years_of_minutes(report: Report) -> None:
    if not ONE_MINUTE.is_dir():
        pytest.skip(f"real 1m candles not found under {ONE_MINUTE}")
    try:
        import viper.scoring  # noqa: F401
    except ImportError:
        pytest.skip("viper.scoring is not there yet: load test pending")
    out = _python(LOAD_TEST.format())
    report.add(
        "load: viper strategy, 3 symbols x 4 years of 1m (6.3M bars)",
        out["run"],
        "s",
        "< 10 s",
        out["run"] < 10,
    )
    report.add("  load: bars per second", out["bars"] / out["run"], "bars/s")
    report.add(
        "  load: peak RSS of the process", out["peak_mb"], "MB", "< 1 GB", out["peak_mb"] < 1024
    )
    report.add("  load: RSS after building the candle frames", out["frames_mb"], "MB")
    report.add("  load: trades", out["trades"], "trades")
    report.add("  load: warm-up run (cache load)", out["warmup"], "s")
