"""Parity: the trades live (or paper) trading made, against a backtest of the same candles.

`build_report` backtests the configured strategy on stored candles, rebuilds the live trades
from the order journal, pairs them trade by trade and explains every difference. The reference
backtest runs with the parameters the live engine traded at the start of the period: a set
applied through the optimizer by then, else `viper.strategies.live_params` (the configured
ones); sets applied later are named in the report's notes.
"""

from viper.parity.compare import backtest_trades, compare, summarize
from viper.parity.journal import live_trades, rejections
from viper.parity.models import ParityReport, ParitySummary, ParityTrade, Rejection, TradePair
from viper.parity.report import (
    build_report,
    data_gaps,
    format_report,
    reference_backtest,
)

__all__ = [
    "ParityReport",
    "ParitySummary",
    "ParityTrade",
    "Rejection",
    "TradePair",
    "backtest_trades",
    "build_report",
    "compare",
    "data_gaps",
    "format_report",
    "live_trades",
    "reference_backtest",
    "rejections",
    "summarize",
]
