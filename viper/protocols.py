"""Narrow protocols the core declares and `app.py` wires to whichever module provides them.

Modules never import each other; a module that needs another's capability asks
`ctx.services` for one of these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from viper.runner import ModuleStatus

if TYPE_CHECKING:
    import polars as pl


class StatusSource(Protocol):
    """The runner's view of every module (provided by the app itself)."""

    @property
    def node(self) -> str:
        """This process's name on the bus: host:pid."""
        ...

    def services_status(self) -> list[ModuleStatus]:
        """Every known module with its enabled flag, state and health."""
        ...


class CandleSource(Protocol):
    """Stored candles by exchange, symbol and timeframe (provided by the data module).

    Frames have the store's schema: `timestamp` (int64 ms UTC, bar open), `open`, `high`,
    `low`, `close`, `volume` (float64), sorted by timestamp without duplicates.
    """

    async def candles(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> pl.DataFrame:
        """Candles with `start_ms <= timestamp < end_ms` (open bounds when None)."""
        ...
