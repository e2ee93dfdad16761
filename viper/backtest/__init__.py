"""The backtester: a numba portfolio engine for USDT-M perpetuals, its exchange model and metrics.

`run_backtest(frames, strategy, params, ...)` is the entry point; see docs/backtesting.md.
"""

from __future__ import annotations

from viper.backtest.fees import FeeModel
from viper.backtest.metrics import BacktestResult, EquityCurve, Period, SymbolStats, Trade
from viper.backtest.portfolio import BacktestSettings, backtest, run_backtest

__all__ = [
    "BacktestResult",
    "BacktestSettings",
    "EquityCurve",
    "FeeModel",
    "Period",
    "SymbolStats",
    "Trade",
    "backtest",
    "run_backtest",
]
