"""Risk manager: the pre-trade gate, limits and kill switch."""

from viper.modules.risk.module import RiskModule as module

__all__ = ["module"]
