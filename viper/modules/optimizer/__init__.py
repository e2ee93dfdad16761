"""Strategy optimizer: parameter search and walk-forward validation."""

from viper.modules.optimizer.module import OptimizerModule as module

__all__ = ["module"]
