"""Live trading engine: runs strategies on signals."""

from viper.modules.live.module import LiveModule as module

__all__ = ["module"]
