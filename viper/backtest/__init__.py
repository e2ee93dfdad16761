"""The backtester: a numba portfolio engine for USDT-M perpetuals, its exchange model and metrics.

`run_backtest(frames, strategy, params, ...)` is the entry point; see docs/backtesting.md.
The engine's names load on first use, so importing a light submodule (fees, metrics, the job
messages) does not import numba.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from viper.backtest.fees import FeeModel
from viper.backtest.metrics import BacktestResult, EquityCurve, Period, SymbolStats, Trade
from viper.backtest.settings import BacktestSettings

if TYPE_CHECKING:
    from viper.backtest.portfolio import backtest, run_backtest

_ENGINE = frozenset({"backtest", "run_backtest"})

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


def __getattr__(name: str) -> Any:
    if name in _ENGINE:
        from viper.backtest import portfolio

        return getattr(portfolio, name)
    raise AttributeError(f"module 'viper.backtest' has no attribute {name!r}")
