"""Data manager: the candle store, imports and downloads."""

from viper.modules.data.module import DataModule as module

__all__ = ["module"]
