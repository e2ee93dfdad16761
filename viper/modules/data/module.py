"""The data module: the candle store, its cache, and background downloads, behind /data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import redis.asyncio as redis_asyncio
from starlette.routing import BaseRoute

from viper.cache import Cache
from viper.config import Config
from viper.modules.base import Health, ModuleContext
from viper.modules.data.routes import routes
from viper.modules.data.service import DataService
from viper.modules.data.sync import SyncJobs
from viper.protocols import CandleSource
from viper.store.candles import CandleStore

if TYPE_CHECKING:
    import ccxt.async_support as ccxt


class DataModule:
    """Owns the Parquet candle store; provides CandleSource to the other modules."""

    name = "data"
    requires: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._service: DataService | None = None
        self._jobs: SyncJobs | None = None
        self._redis: redis_asyncio.Redis | None = None
        self._ctx: ModuleContext | None = None
        self._config: Config | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        config = ctx.config
        self._ctx, self._config = ctx, config
        if config.redis.url:
            self._redis = redis_asyncio.Redis.from_url(config.redis.url, socket_timeout=2)
        cache = Cache(
            ttls={
                "market_data": config.cache.ttl_seconds,
                "scores": config.cache.scores_ttl_seconds,
                "config": config.cache.config_ttl_seconds,
            },
            max_entries=config.cache.max_entries,
            clock=ctx.clock,
            redis=self._redis,
            registry=ctx.metrics,
        )
        store = CandleStore(config.store.candles_dir)
        self._service = DataService(store, cache, self.exchange)
        self._jobs = SyncJobs(self._service, self._make_exchange, ctx.clock, config.data.page_size)
        ctx.services.provide(CandleSource, self._service)

    def _make_exchange(self, exchange_id: str) -> ccxt.Exchange:
        # ccxt is imported only when a sync job runs: it costs ~90 MB that paper trading never needs
        from viper.marketdata.download import make_exchange

        exchange = self._config.exchange if self._config else None
        return make_exchange(
            exchange_id,
            api_url=(exchange.api_url or None) if exchange else None,
            timeout_ms=int((exchange.timeout_seconds if exchange else 10) * 1000),
        )

    async def stop(self) -> None:
        if self._jobs is not None:
            await self._jobs.stop()
        if self._ctx is not None:
            self._ctx.services.withdraw(CandleSource)
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def health(self) -> Health:
        if self._service is None:
            return Health(status="down", detail="not started")
        jobs = self._jobs.running() if self._jobs else 0
        return Health(
            status="ok", checks={"store": str(self._service.store.root), "sync_jobs_running": jobs}
        )

    @property
    def service(self) -> DataService:
        if self._service is None:
            raise RuntimeError("data module not started")
        return self._service

    @property
    def jobs(self) -> SyncJobs:
        if self._jobs is None:
            raise RuntimeError("data module not started")
        return self._jobs

    @property
    def exchange(self) -> str:
        """The exchange whose candles are served by default."""
        if self._config is None:
            return "bitget"
        return self._config.data.exchange or self._config.exchange.id

    @property
    def max_rows(self) -> int:
        return self._config.data.max_rows_per_request if self._config else 10_000
