"""The optimizer's shared-precomputation decisions equal each strategy's own `decide`."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from viper.backtest import inputs
from viper.optimizer.signals import Generic, SmaCrossSignals, ViperSignals
from viper.strategies import get_strategy


def bars_of(frame: pl.DataFrame) -> object:
    cols = inputs.columns("X", frame)
    return inputs.make_bars(cols, np.full(frame.height, np.nan))


def assert_same(fast: object, own: object) -> None:
    for name in ("flags", "entry_bars", "distances"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(own, name))


@pytest.mark.parametrize(
    "params",
    [
        {"fast": 5, "slow": 20},
        {"fast": 10, "slow": 60, "allow_short": False},
        {"fast": 35, "slow": 200, "sl_pct": 0.02, "tp_pct": 0.05},
    ],
)
def test_sma_cross_signals_equal_the_strategy(btc: pl.DataFrame, params: dict[str, object]) -> None:
    strategy, bars = get_strategy("sma_cross"), bars_of(btc)
    p = strategy.params(params)
    assert_same(SmaCrossSignals(bars).decide(p), Generic(strategy, bars).decide(p))  # type: ignore[arg-type]


def test_each_sma_length_is_computed_once(btc: pl.DataFrame) -> None:
    strategy, signals = get_strategy("sma_cross"), SmaCrossSignals(bars_of(btc))  # type: ignore[arg-type]
    for fast, slow in [(5, 20), (5, 40), (10, 40)]:
        signals.decide(strategy.params({"fast": fast, "slow": slow}))
    assert sorted(signals._smas) == [5, 10, 20, 40]


@pytest.mark.parametrize(
    "params",
    [
        {"threshold": 80.0, "lookback": 20},
        {"threshold": 72.5, "lookback": 30, "exit_threshold": 40.0, "sl_atr": 2.0, "tp_atr": 4.0},
        {"threshold": 90.0, "lookback": 20, "trailing_atr": 1.0, "allow_short": False},
    ],
)
def test_viper_signals_equal_the_strategy(btc: pl.DataFrame, params: dict[str, object]) -> None:
    strategy, bars = get_strategy("viper"), bars_of(btc)
    p = strategy.params(params)
    assert_same(ViperSignals(bars).decide(p), Generic(strategy, bars).decide(p))  # type: ignore[arg-type]
