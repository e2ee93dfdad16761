"""Background downloads (`POST /data/sync`): one job downloads or updates several symbols.

Each job resumes every symbol after its last stored candle, writes page by page (so a failure
loses at most a page), reports progress, and can be cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import msgspec
import polars as pl
from loguru import logger

from viper.clock import Clock
from viper.errors import NotFoundError, ValidationError, ViperError
from viper.modules.data.service import DataService

if TYPE_CHECKING:
    import ccxt.async_support as ccxt

    from viper.marketdata.download import DownloadProgress

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
MAX_JOBS_KEPT = 100


class SymbolProgress(msgspec.Struct, kw_only=True):
    """Where one symbol's download stands."""

    symbol: str
    state: Literal["waiting", "running", "done", "failed"] = "waiting"
    candles: int = 0
    expected: int = 0
    eta_seconds: float | None = None
    first_ms: int | None = None
    last_ms: int | None = None
    error: str = ""


class SyncJob(msgspec.Struct, kw_only=True):
    """A download job and its progress."""

    id: str
    exchange: str
    timeframe: str
    since_ms: int | None
    until_ms: int | None
    state: JobState
    created_ms: int
    symbols: list[SymbolProgress]
    finished_ms: int | None = None
    error: str = ""


class SyncJobs:
    """Runs download jobs as named tasks and remembers the recent ones."""

    def __init__(
        self,
        data: DataService,
        exchange_factory: Callable[[str], ccxt.Exchange],
        clock: Clock,
        page_size: int,
    ) -> None:
        self._data = data
        self._factory = exchange_factory
        self._clock = clock
        self._page_size = page_size
        self._jobs: dict[str, SyncJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(
        self,
        exchange: str,
        symbols: list[str],
        timeframe: str,
        since_ms: int | None,
        until_ms: int | None,
    ) -> SyncJob:
        """Queue a job; it runs in the background."""
        if since_ms is not None and until_ms is not None and until_ms <= since_ms:
            raise ValidationError("until: must be after since", field="until")
        job = SyncJob(
            id=uuid.uuid4().hex[:12],
            exchange=exchange,
            timeframe=timeframe,
            since_ms=since_ms,
            until_ms=until_ms,
            state="queued",
            created_ms=self._clock.now_ms(),
            symbols=[SymbolProgress(symbol=s) for s in dict.fromkeys(symbols)],
        )
        self._jobs[job.id] = job
        self._forget_old()
        self._tasks[job.id] = asyncio.create_task(self._run(job), name=f"data.sync:{job.id}")
        return job

    def get(self, job_id: str) -> SyncJob:
        """One job; NotFoundError names it when unknown."""
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no sync job {job_id!r}")
        return job

    def list(self) -> list[SyncJob]:
        """Recent jobs, newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created_ms, reverse=True)

    async def cancel(self, job_id: str) -> SyncJob:
        """Stop a running job (what it stored stays stored)."""
        job = self.get(job_id)
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return job

    async def stop(self) -> None:
        """Cancel every running job and wait for them."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def running(self) -> int:
        return sum(1 for j in self._jobs.values() if j.state in ("queued", "running"))

    async def _run(self, job: SyncJob) -> None:
        # the downloader brings ccxt: loaded on the first job, never in a process that syncs nothing
        from viper.marketdata.download import make_rate_limiter

        exchange = self._factory(job.exchange)
        job.state = "running"
        try:
            limiter = make_rate_limiter(exchange, self._clock)
            for entry in job.symbols:
                await self._one(job, entry, exchange, limiter)
            failed = [s for s in job.symbols if s.state == "failed"]
            job.state = "failed" if failed else "done"
            job.error = "; ".join(f"{s.symbol}: {s.error}" for s in failed)
        except asyncio.CancelledError:
            job.state = "cancelled"
            raise
        except Exception as exc:
            job.state, job.error = "failed", _describe(exc)
            logger.opt(exception=exc).error("sync job {} failed", job.id)
        finally:
            job.finished_ms = self._clock.now_ms()
            await exchange.close()

    async def _one(
        self, job: SyncJob, entry: SymbolProgress, exchange: ccxt.Exchange, limiter: object
    ) -> None:
        from viper.marketdata.download import download_candles

        store, symbol, timeframe = self._data.store, entry.symbol, job.timeframe
        last = await asyncio.to_thread(store.last_timestamp, job.exchange, symbol, timeframe)
        if last is None and job.since_ms is None:
            entry.state, entry.error = "failed", "nothing stored yet: give `since`"
            return
        entry.state = "running"

        async def write(frame: pl.DataFrame) -> None:
            await asyncio.to_thread(store.write, job.exchange, symbol, timeframe, frame)
            await self._data.invalidate(job.exchange, symbol, timeframe)

        def progress(p: DownloadProgress) -> None:
            entry.candles, entry.expected, entry.eta_seconds = p.candles, p.expected, p.eta_s

        try:
            result = await download_candles(
                exchange,
                write,
                symbol,
                timeframe,
                job.since_ms if job.since_ms is not None else 0,
                job.until_ms,
                page_size=self._page_size,
                clock=self._clock,
                resume_from=last,
                progress=progress,
                rate_limiter=limiter,  # type: ignore[arg-type]
            )
        except ViperError as exc:
            entry.state, entry.error = "failed", exc.detail
            return
        entry.state, entry.candles = "done", result.candles
        entry.first_ms, entry.last_ms = result.first_ms, result.last_ms

    def _forget_old(self) -> None:
        finished = [j for j in self.list() if j.state not in ("queued", "running")]
        for job in finished[MAX_JOBS_KEPT:]:
            self._jobs.pop(job.id, None)
            self._tasks.pop(job.id, None)


def _describe(exc: BaseException) -> str:
    return exc.detail if isinstance(exc, ViperError) else f"{type(exc).__name__}: {exc}"
