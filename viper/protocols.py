"""Narrow protocols the core declares and `app.py` wires to whichever module provides them.

Modules never import each other; a module that needs another's capability asks
`ctx.services` for one of these.
"""

from __future__ import annotations

from typing import Protocol

from viper.runner import ModuleStatus


class StatusSource(Protocol):
    """The runner's view of every module (provided by the app itself)."""

    def services_status(self) -> list[ModuleStatus]:
        """Every known module with its enabled flag, state and health."""
        ...
