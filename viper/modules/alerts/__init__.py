"""Alert system: rules, channels and history."""

from viper.modules.alerts.module import AlertsModule as module

__all__ = ["module"]
