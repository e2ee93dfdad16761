"""Hand-made bars and a scripted strategy for engine tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tests.conftest import SHARED_DATA
from viper.backtest import BacktestResult, BacktestSettings, FeeModel, backtest
from viper.config import RiskConfig
from viper.marketdata.importers import load_file
from viper.strategies.base import Bars, Decisions, Strategy, StrategyParams, empty_decisions

HOUR = 3_600_000
T0 = 1_700_006_400_000  # 2023-11-15 00:00 UTC
NO_FEES = FeeModel(taker_fee=0.0, maker_fee=0.0, slippage_bps=0.0)
LOOSE = RiskConfig(max_drawdown=1.0, daily_loss_limit=1.0, max_notional_per_symbol=1e12)
Row = tuple[float, float, float, float]


def frame(rows: Sequence[Row], *, start: int = T0, step: int = HOUR) -> pl.DataFrame:
    """Candles from (open, high, low, close) rows, one bar per `step`."""
    o, h, lo, c = ([float(x) for x in col] for col in zip(*rows, strict=True))
    return pl.DataFrame(
        {
            "timestamp": [start + i * step for i in range(len(rows))],
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": [1.0] * len(rows),
        }
    )


def flat(n: int, price: float = 100.0) -> list[Row]:
    """`n` bars that do not move."""
    return [(price, price, price, price)] * n


class NoParams(StrategyParams, frozen=True):
    """The scripted strategy takes none."""


class Scripted(Strategy[NoParams]):
    """Replays hand-written decisions: one {bar: {flag or distance: value}} map per symbol."""

    name = "scripted"
    Params = NoParams

    def __init__(self, *scripts: Mapping[int, Mapping[str, Any]]) -> None:
        self._scripts: Iterator[Mapping[int, Mapping[str, Any]]] = iter(scripts)

    def warmup(self, params: NoParams) -> int:
        return 0

    def decide(self, bars: Bars, params: NoParams) -> Decisions:
        out = empty_decisions(bars.close.shape[0])
        names = {"stop": "stop_distance", "tp": "take_profit_distance", "trail": "trail_distance"}
        for bar, marks in next(self._scripts, {}).items():
            for key, value in marks.items():
                getattr(out, names.get(key, key))[bar] = value
        return out

    def incremental(self, params: NoParams) -> Any:
        raise NotImplementedError


def run(
    frames: Mapping[str, pl.DataFrame] | pl.DataFrame,
    *scripts: Mapping[int, Mapping[str, Any]],
    funding: Mapping[str, pl.DataFrame] | None = None,
    **settings: Any,
) -> BacktestResult:
    """Backtest scripted decisions; no fees, loose risk limits and 50% fixed fraction by default."""
    if isinstance(frames, pl.DataFrame):
        frames = {"BTC/USDT:USDT": frames}
    settings = {
        "fees": NO_FEES,
        "risk": LOOSE,
        "sizing": "fixed_fraction",
        "fraction": 0.5,
        **settings,
    }
    strategy = Scripted(*scripts)
    return backtest(
        frames, strategy, strategy.params(), BacktestSettings(**settings), funding=funding
    )


def real(path: str) -> pl.DataFrame:
    """A real candle or funding file from shared/data, in the store schema."""
    return load_file(Path(SHARED_DATA) / path).frame


BTC_1H = "ohlcv/Roshan7869__algotrading/binance/futures/BTC_USDT_USDT-1h-futures.feather"
ETH_1H = "ohlcv/Roshan7869__algotrading/binance/futures/ETH_USDT_USDT-1h-futures.feather"
BTC_FUNDING = "ohlcv/Roshan7869__algotrading/binance/futures/BTC_USDT_USDT-1h-funding_rate.feather"
ETH_FUNDING = "ohlcv/Roshan7869__algotrading/binance/futures/ETH_USDT_USDT-1h-funding_rate.feather"


def random_walk(n: int, seed: int, start: float = 100.0) -> list[Row]:
    """A reproducible random OHLC path."""
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[start], close[:-1]])
    wick = np.abs(rng.normal(0, 0.005, (2, n))) * close
    high = np.maximum(open_, close) + wick[0]
    low = np.minimum(open_, close) - wick[1]
    return list(zip(open_.tolist(), high.tolist(), low.tolist(), close.tolist(), strict=True))
