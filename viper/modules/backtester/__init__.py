"""Ultra Backtester: runs backtests and stores their results."""

from viper.modules.backtester.module import BacktesterModule as module

__all__ = ["module"]
