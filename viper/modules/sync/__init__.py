"""Position synchronizer: reconciles the journal with the exchange."""

from viper.modules.sync.module import SyncModule as module

__all__ = ["module"]
