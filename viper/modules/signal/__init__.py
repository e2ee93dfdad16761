"""Signal processor: VIPER scores and signals."""

from viper.modules.signal.module import SignalModule as module

__all__ = ["module"]
