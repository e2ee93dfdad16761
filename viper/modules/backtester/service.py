"""The backtester's service: validate and queue requests (the BacktestRunner), read results.

Validation reads only the candle store's metadata (in a thread); the candles themselves are
read by the job's own process. A request that fails validation leaves no job and no row.
"""

from __future__ import annotations

import asyncio

import msgspec

from viper.backtest.metrics import BacktestResult
from viper.backtest.report_html import render_report
from viper.backtest.runs import new_id, resolve
from viper.config import Config
from viper.errors import NotFoundError
from viper.modules.backtester.jobs import BacktestJobs, job_from_summary
from viper.protocols import BacktestJob, BacktestRequest
from viper.store.backtests import BacktestResults, ResultPage
from viper.store.candles import CandleStore


class BacktestService:
    """Starts backtests as jobs and serves their status and stored results."""

    def __init__(
        self, config: Config, jobs: BacktestJobs, results: BacktestResults, store: CandleStore
    ) -> None:
        self._config = config
        self.jobs = jobs
        self.results = results
        self._store = store

    async def start(self, request: BacktestRequest) -> BacktestJob:
        """Validate `request` against the stored candles and queue it (BacktestRunner)."""
        spec = await asyncio.to_thread(
            resolve, request, self._config, self._store, backtest_id=new_id(), source="api"
        )
        return self.jobs.submit(spec)

    async def job(self, job_id: str) -> BacktestJob:
        """A job of this process, else the done job of a stored result; NotFoundError else."""
        job = self.jobs.get(job_id)
        if job is not None:
            return job
        try:
            summary = await self.results.summary(job_id)
        except NotFoundError:
            raise NotFoundError(f"no backtest job {job_id!r}") from None
        return job_from_summary(summary)

    async def cancel(self, job_id: str) -> BacktestJob:
        """Cancel a job; a result stored earlier answers as done, anything else is a 404."""
        if self.jobs.get(job_id) is not None:
            return await self.jobs.cancel(job_id)
        return await self.job(job_id)

    async def page(
        self, limit: int, offset: int, strategy: str | None, symbol: str | None
    ) -> ResultPage:
        """Stored summaries, newest first."""
        return await self.results.page(limit, offset, strategy, symbol)

    async def result_json(self, backtest_id: str, trades: bool = True) -> bytes:
        """The full result as JSON; without its trade list when `trades` is False."""
        raw = await self.results.result_json(backtest_id)
        if trades:
            return raw
        return await asyncio.to_thread(_without_trades, raw)

    async def report(self, backtest_id: str) -> str:
        """The HTML report of a stored result."""
        summary = await self.results.summary(backtest_id)
        raw = await self.results.result_json(backtest_id)
        settings = {**summary.settings, "config_id": summary.config_id}
        return await asyncio.to_thread(_render, raw, settings)


def _without_trades(raw: bytes) -> bytes:
    result = msgspec.json.decode(raw, type=BacktestResult)
    return msgspec.json.encode(msgspec.structs.replace(result, trades=[]))


def _render(raw: bytes, settings: dict[str, object]) -> str:
    return render_report(msgspec.json.decode(raw, type=BacktestResult), settings)
