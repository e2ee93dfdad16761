"""Centralized logger: log index, tail and search."""

from viper.modules.logger.module import LoggerModule as module

__all__ = ["module"]
