"""The optimizer module: strategy parameter search and walk-forward validation, at /optimizer."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.base import Health, ModuleContext
from viper.modules.optimizer.jobs import OptimizeJobs
from viper.modules.optimizer.routes import routes
from viper.modules.optimizer.service import OptimizerService
from viper.optimizer.store import OptimizerStore
from viper.store.candles import CandleStore


class OptimizerModule:
    """Strategy Optimizer: grid, optuna and walk-forward jobs over `[backtester] workers`
    processes; results and applied parameters in SQLite."""

    name = "optimizer"
    requires: tuple[str, ...] = ("data",)

    def __init__(self) -> None:
        self._service: OptimizerService | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        store = OptimizerStore(ctx.store)
        await store.migrate()
        jobs = OptimizeJobs(store, ctx.clock, ctx.config.backtester.workers)
        candles = CandleStore(ctx.config.store.candles_dir)
        self._service = OptimizerService(ctx.config, jobs, store, candles, ctx.bus, ctx.clock)

    async def stop(self) -> None:
        if self._service is not None:
            await self._service.jobs.stop()

    def health(self) -> Health:
        if self._service is None:
            return Health(status="down", detail="not started")
        jobs = self._service.jobs
        return Health(status="ok", checks={"workers": jobs.workers, **jobs.counts()})

    @property
    def service(self) -> OptimizerService:
        if self._service is None:
            raise RuntimeError("optimizer module not started")
        return self._service
