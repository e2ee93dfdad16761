"""Optimizer benchmark: a 100-combination `sma_cross` grid on 1M one-minute candles, VIPER
against vectorbt's broadcast grid, in the same run on the same candles.

The candles are built as tests/performance/test_bench_backtest.py builds them (six real 1m
perpetual series tiled to 1,000,000 bars) and stored once in a temporary candle store. The grid
is fast 5..50 step 5 x slow 20..200 step 20: 100 pairs, of which 90 have slow > fast; both
engines evaluate those 90 (sma_cross refuses fast >= slow). VIPER runs its whole job (`runner.
optimize`: worker processes that load the candles from the store, compute each SMA length once,
and run the numba engine per combination without trade lists) with 1 and with 2 workers;
vectorbt runs `MA.run` broadcast over the 90 pairs, the crossings and one `Portfolio.
from_signals` over all columns. No fees, no stops, all equity at 1x, no kill switch. Each side
runs in a subprocess of its own, which reports its wall time and peak RSS. Figures are printed;
nothing is asserted. Reference on this machine: vectorbt about 26 s and 7.8 GB (100 pairs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.performance.conftest import Report
from tests.performance.test_bench_backtest import MINUTE, ONE_MILLION, ONE_MINUTE, SIX, tiled
from viper.store.candles import CandleStore

SYMBOL = "BTC/USDT:USDT"
START = 1_600_000_000_000 - 1_600_000_000_000 % MINUTE

VIPER = """
import asyncio, json, resource, time, msgspec
from tests.performance.conftest import peak_rss_mb
from viper.backtest.fees import FeeModel
from viper.config import parse_config
from viper.optimizer.runner import optimize
from viper.optimizer.spec import OptimizeRequest, resolve
from viper.store.candles import CandleStore
config = parse_config({{"store": {{"candles_dir": {root!r}, "database": ":memory:"}},
    "risk": {{"max_drawdown": 1.0, "daily_loss_limit": 1.0, "max_notional_per_symbol": 1e15}},
    "logging": {{"file": "", "console": False}}}}, {{}}, "bench")
request = msgspec.convert({{"symbols": [{symbol!r}], "timeframe": "1m", "start_date": "2020-01-01",
    "end_date": "2030-01-01", "method": "grid", "constraints": {{"min_trades": 0}},
    "top_n": 100}}, OptimizeRequest)
spec = resolve(request, config, CandleStore({root!r}), job_id="bench", source="bench")
no_fees = FeeModel(taker_fee=0.0, maker_fee=0.0, slippage_bps=0.0, funding=False)
spec = msgspec.structs.replace(spec, backtest=msgspec.structs.replace(spec.backtest, fees=no_fees))
t0 = time.perf_counter()
result = asyncio.run(optimize(spec, {workers}))
seconds = time.perf_counter() - t0
me = peak_rss_mb()
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "parent_mb": me, "worker_mb": kids, "combos": result.trials,
    "best": result.best_params, "best_value": result.best_value}}))
"""

VECTORBT = """
import json, time
import numpy as np, pandas as pd, vectorbt as vbt
from tests.performance.conftest import peak_rss_mb
from viper.store.candles import CandleStore
frame = CandleStore({root!r}).read("bitget", {symbol!r}, "1m")
index = pd.to_datetime(frame["timestamp"].to_numpy(), unit="ms")
close = pd.Series(frame["close"].to_numpy(), index=index)
open_ = pd.Series(frame["open"].to_numpy(), index=index)
del frame
pairs = [(f, s) for f in range(5, 51, 5) for s in range(20, 201, 20) if s > f]
t0 = time.perf_counter()
fast = vbt.MA.run(close, [p[0] for p in pairs], short_name="fast")
slow = vbt.MA.run(close, [p[1] for p in pairs], short_name="slow")
up = fast.ma_crossed_above(slow).shift(1, fill_value=False)  # decided at close, filled next open
down = fast.ma_crossed_below(slow).shift(1, fill_value=False)
pf = vbt.Portfolio.from_signals(close, entries=up, exits=down, short_entries=down,
    short_exits=up, price=open_, init_cash=10_000, freq="1min")
sharpe = pf.sharpe_ratio()
seconds = time.perf_counter() - t0
best = sharpe.idxmax()
print(json.dumps({{"seconds": seconds, "peak_mb": peak_rss_mb(),
    "combos": int(sharpe.shape[0]), "best": [int(b) for b in best]}}))
"""


def _python(code: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        pytest.fail(f"benchmark subprocess failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ONE_MINUTE.is_dir():
        pytest.skip(f"real 1m candles not found under {ONE_MINUTE}")
    root = tmp_path_factory.mktemp("optimizer-bench") / "candles"
    CandleStore(root).write("bitget", SYMBOL, "1m", tiled(SIX, ONE_MILLION, START))
    return root


RESULTS: dict[str, dict[str, Any]] = {}


@pytest.mark.timeout(1800)
def test_viper_grid_one_and_two_workers(report: Report, store_root: Path) -> None:
    _python(VIPER.format(root=str(store_root), symbol=SYMBOL, workers=1))  # warm the numba cache
    for workers in (1, 2):
        out = RESULTS[f"viper{workers}"] = _python(
            VIPER.format(root=str(store_root), symbol=SYMBOL, workers=workers)
        )
        report.add(
            f"optimizer 1M bars sma_cross grid: VIPER, {workers} worker(s)", out["seconds"], "s"
        )
        report.add(
            f"  VIPER combinations per second, {workers} worker(s)",
            out["combos"] / out["seconds"],
            "comb/s",
        )
        peak = max(out["worker_mb"], out["parent_mb"])
        report.add(
            f"  VIPER peak RSS of one process, {workers} worker(s)",
            peak,
            "MB",
            "< 1 GB",
            peak < 1024,
        )
        report.add(
            f"  VIPER combined peak (parent + workers), {workers} worker(s)",
            out["parent_mb"] + workers * out["worker_mb"],
            "MB",
        )
    report.add("  VIPER combinations evaluated", RESULTS["viper1"]["combos"], "comb")
    speedup = RESULTS["viper1"]["seconds"] / RESULTS["viper2"]["seconds"]
    report.add("VIPER optimizer speed-up from 1 to 2 workers", speedup, "x")


@pytest.mark.timeout(1800)
def test_vectorbt_broadcast_grid(report: Report, store_root: Path) -> None:
    pytest.importorskip("vectorbt", reason="vectorbt is not installed (bench group)")
    out = RESULTS["vectorbt"] = _python(VECTORBT.format(root=str(store_root), symbol=SYMBOL))
    report.add("optimizer 1M bars sma_cross grid: vectorbt broadcast", out["seconds"], "s")
    report.add("  vectorbt peak RSS", out["peak_mb"], "MB")
    report.add("  vectorbt combinations evaluated", out["combos"], "comb")
    if "viper2" in RESULTS:
        best = min(RESULTS["viper1"]["seconds"], RESULTS["viper2"]["seconds"])
        ratio = out["seconds"] / best
        report.add("VIPER / vectorbt speed (optimizer grid)", ratio, "x", ">= 5x", ratio >= 5)
        memory = out["peak_mb"] / max(RESULTS["viper2"]["worker_mb"], 1.0)
        report.add("vectorbt / VIPER peak RSS (one process)", memory, "x")
