"""The backtester module: backtests in their own processes, results in SQLite, at /backtester."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.backtester.jobs import BacktestJobs
from viper.modules.backtester.routes import routes
from viper.modules.backtester.service import BacktestService
from viper.modules.base import Health, ModuleContext, Services
from viper.protocols import BacktestRunner
from viper.store.backtests import BacktestResults
from viper.store.candles import CandleStore


class BacktesterModule:
    """Ultra Backtester: runs backtests in `[backtester] workers` processes, stores results;
    provides BacktestRunner to the other modules."""

    name = "backtester"
    requires: tuple[str, ...] = ("data",)

    def __init__(self) -> None:
        self._service: BacktestService | None = None
        self._services: Services | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        results = BacktestResults(ctx.store)
        await results.migrate()
        jobs = BacktestJobs(results, ctx.clock, ctx.config.backtester.workers)
        store = CandleStore(ctx.config.store.candles_dir)
        self._service = BacktestService(ctx.config, jobs, results, store)
        self._services = ctx.services
        ctx.services.provide(BacktestRunner, self._service)

    async def stop(self) -> None:
        if self._services is not None:
            self._services.withdraw(BacktestRunner)
            self._services = None
        if self._service is not None:
            await self._service.jobs.stop()

    def health(self) -> Health:
        if self._service is None:
            return Health(status="down", detail="not started")
        jobs = self._service.jobs
        return Health(status="ok", checks={"workers": jobs.workers, **jobs.counts()})

    @property
    def service(self) -> BacktestService:
        if self._service is None:
            raise RuntimeError("backtester module not started")
        return self._service
