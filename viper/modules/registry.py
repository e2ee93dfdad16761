"""Finds module packages by name and builds them; only enabled modules are imported.

Deleting an optional module's folder and switching it off leaves a working process.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from viper.config import MODULE_NAMES
from viper.errors import ConfigError
from viper.modules.base import Module

# The original system's port of each module, for `[server] legacy_ports`.
LEGACY_PORTS: dict[str, int] = {
    "backtester": 8001,
    "risk": 8002,
    "data": 8003,
    "optimizer": 8004,
    "exchange": 8005,
    "monitoring": 8006,
    "live": 8007,
    "vault": 8008,
    "streamer": 8010,
    "signal": 8011,
    "alerts": 8012,
    "order": 8013,
    "sync": 8014,
    "mcp": 8015,
    "logger": 8016,
}


def build_module(name: str) -> Module:
    """Import `viper.modules.<name>` and build its module."""
    if name not in MODULE_NAMES:
        raise ConfigError(f"modules.enabled: unknown module '{name}'")
    try:
        package = importlib.import_module(f"viper.modules.{name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"viper.modules.{name}"):
            raise ConfigError(
                f"modules.enabled: module '{name}' is enabled but its package is not installed"
            ) from None
        raise
    module: Module = package.module()
    if module.name != name:
        raise ConfigError(f"modules.enabled: package '{name}' builds module '{module.name}'")
    return module


def build_modules(names: Iterable[str]) -> dict[str, Module]:
    """Build every enabled module (duplicates ignored), in the order given."""
    modules: dict[str, Module] = {}
    for name in names:
        if name not in modules:
            modules[name] = build_module(name)
    return modules
