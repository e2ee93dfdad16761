"""The api module: process-wide views that read through the core's protocols."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.api.routes import routes
from viper.modules.base import Health, ModuleContext
from viper.protocols import StatusSource
from viper.runner import ModuleStatus


class ApiModule:
    """Serves /api: the services' status now; portfolio, risk and backtests as they are built."""

    name = "api"
    requires: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._status: StatusSource | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        self._status = ctx.services.get(StatusSource)

    async def stop(self) -> None:
        self._status = None

    def health(self) -> Health:
        return Health(status="ok")

    def services_status(self) -> list[ModuleStatus]:
        """Every module with its enabled flag, state and health."""
        if self._status is None:
            return []
        return self._status.services_status()
