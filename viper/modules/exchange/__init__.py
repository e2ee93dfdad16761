"""Exchange connector: ccxt and the paper exchange."""

from viper.modules.exchange.module import ExchangeModule as module

__all__ = ["module"]
