"""Credential vault: encrypted secrets and API tokens."""

from viper.modules.vault.module import VaultModule as module

__all__ = ["module"]
