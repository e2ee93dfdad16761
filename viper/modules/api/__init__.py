"""The REST API: process-wide views (services, portfolio, risk) under /api."""

from viper.modules.api.module import ApiModule as module

__all__ = ["module"]
