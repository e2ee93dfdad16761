"""Monitoring: metrics summary and health."""

from viper.modules.monitoring.module import MonitoringModule as module

__all__ = ["module"]
