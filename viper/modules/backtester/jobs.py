"""Backtest jobs: one process per job, at most `workers` at once, with progress, ETA and cancel.

A process pool cannot stop a task that has started, so each job runs in a process of its
own (`worker.WorkerProcess`), admitted by a semaphore of `workers` slots: cancelling a queued
job drops it, cancelling a running one ends its process. A result is stored once its process
has sent it; a job that failed or was cancelled stores nothing.
"""

from __future__ import annotations

import asyncio
import contextlib

from loguru import logger

from viper.backtest.child import Failed, Finished, Progress
from viper.backtest.runs import BacktestSpec, Outcome, summarize
from viper.clock import Clock
from viper.errors import NotFoundError
from viper.modules.backtester.worker import WorkerProcess
from viper.protocols import BacktestJob, BacktestState
from viper.store.backtests import BacktestResults, BacktestSummary

MAX_JOBS_KEPT = 100
ACTIVE: tuple[BacktestState, ...] = ("queued", "running")


class Throughput:
    """How fast past jobs ran: process start-up seconds and bars per second, smoothed."""

    def __init__(
        self, startup_seconds: float = 1.5, bars_per_second: float = 2e6, weight: float = 0.3
    ) -> None:
        self.startup_seconds = startup_seconds
        self.bars_per_second = bars_per_second
        self._weight = weight

    def estimate(self, bars: int) -> float:
        """Seconds a job of `bars` bars (summed over symbols) should take once started."""
        return round(self.startup_seconds + bars / self.bars_per_second, 2)

    def record(self, bars: int, wall_seconds: float, compute_seconds: float) -> None:
        """Learn from a finished job."""
        w = self._weight
        startup = max(0.0, wall_seconds - compute_seconds)
        self.startup_seconds += w * (startup - self.startup_seconds)
        if bars > 0 and compute_seconds > 0:
            self.bars_per_second += w * (bars / compute_seconds - self.bars_per_second)


class BacktestJobs:
    """Runs specs as jobs and remembers the recent ones."""

    def __init__(self, results: BacktestResults, clock: Clock, workers: int) -> None:
        self._results = results
        self._clock = clock
        self._slots = asyncio.Semaphore(workers)
        self.workers = workers
        self.throughput = Throughput()
        self._jobs: dict[str, BacktestJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._started: dict[str, float] = {}
        self._storing: set[str] = set()

    def submit(self, spec: BacktestSpec) -> BacktestJob:
        """Queue `spec`; it runs as soon as a slot is free."""
        job = BacktestJob(
            id=spec.id,
            state="queued",
            estimated_duration_seconds=self.throughput.estimate(spec.bars),
            created_ms=self._clock.now_ms(),
            strategy=spec.strategy,
            symbols=spec.symbols,
            exchange=spec.exchange,
            timeframe=spec.timeframe,
            start_ms=spec.start_ms,
            end_ms=spec.end_ms,
            bars=spec.bars,
        )
        self._jobs[job.id] = job
        self._forget_old()
        self._tasks[job.id] = asyncio.create_task(self._run(job, spec), name=f"backtest:{job.id}")
        return job

    def get(self, job_id: str) -> BacktestJob | None:
        """A job this process knows, its ETA brought up to date."""
        job = self._jobs.get(job_id)
        if job is not None:
            job.eta_seconds = self._eta(job)
        return job

    def list(self) -> list[BacktestJob]:
        """Known jobs, newest first."""
        jobs = sorted(self._jobs.values(), key=lambda j: j.created_ms, reverse=True)
        for job in jobs:
            job.eta_seconds = self._eta(job)
        return jobs

    def counts(self) -> dict[str, int]:
        """Jobs queued and running."""
        states = [j.state for j in self._jobs.values()]
        return {state: states.count(state) for state in ACTIVE}

    async def cancel(self, job_id: str) -> BacktestJob:
        """Drop a queued job or end a running one; a finished job is returned unchanged."""
        job = self.get(job_id)
        if job is None:
            raise NotFoundError(f"no backtest job {job_id!r}")
        task = self._tasks.get(job_id)
        if task is not None and not task.done() and job_id not in self._storing:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return job

    async def stop(self) -> None:
        """Cancel every job and wait until their processes have ended."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _eta(self, job: BacktestJob) -> float | None:
        if job.state not in ACTIVE:
            return None if job.state != "done" else 0.0
        started = self._started.get(job.id)
        if started is None:
            return job.estimated_duration_seconds
        elapsed = self._clock.monotonic() - started
        if job.progress >= 0.2:
            return round(elapsed * (1.0 - job.progress) / job.progress, 2)
        return round(max(0.0, job.estimated_duration_seconds - elapsed), 2)

    async def _run(self, job: BacktestJob, spec: BacktestSpec) -> None:
        worker: WorkerProcess | None = None
        try:
            async with self._slots:
                self._started[job.id] = self._clock.monotonic()
                job.started_ms = self._clock.now_ms()
                worker = WorkerProcess(spec)
                await worker.start()
                job.state, job.worker_pid = "running", worker.pid
                await self._follow(job, spec, worker)
        except asyncio.CancelledError:
            self._finish(job, "cancelled")
            raise
        except Exception as exc:
            self._finish(job, "failed", f"{type(exc).__name__}: {exc}")
            logger.opt(exception=exc).error("backtest job {} failed", job.id)
        finally:
            if worker is not None:
                await worker.end()
            self._started.pop(job.id, None)
            self._storing.discard(job.id)

    async def _follow(self, job: BacktestJob, spec: BacktestSpec, worker: WorkerProcess) -> None:
        while True:
            message = await worker.receive()
            match message:
                case Progress(fraction=fraction):
                    job.progress = max(job.progress, min(1.0, fraction))
                case Finished():
                    self._storing.add(job.id)
                    await self._store(job, spec, message)
                    return
                case Failed(detail=detail, field=field):
                    job.field = field
                    self._finish(job, "failed", detail)
                    return
                case None:
                    code = worker.returncode
                    self._finish(job, "failed", f"the process exited with code {code}, no result")
                    return

    async def _store(self, job: BacktestJob, spec: BacktestSpec, done: Finished) -> None:
        wall = self._clock.monotonic() - self._started.get(job.id, self._clock.monotonic())
        outcome = Outcome(done.head, done.sizing, done.seconds, done.engine_id)
        summary = summarize(spec, outcome, created_ms=job.created_ms, duration_seconds=wall)
        await self._results.save(summary, done.blob)
        self.throughput.record(spec.bars, wall, done.seconds)
        job.progress, job.result_id = 1.0, job.id
        self._finish(job, "done")

    def _finish(self, job: BacktestJob, state: BacktestState, error: str = "") -> None:
        """Record the end of a job: its time first, so a reader never sees an end without one."""
        job.finished_ms = self._clock.now_ms()
        job.error = error
        job.state = state
        job.eta_seconds = self._eta(job)

    def _forget_old(self) -> None:
        finished = [j for j in self.list() if j.state not in ACTIVE]
        for job in finished[MAX_JOBS_KEPT:]:
            self._jobs.pop(job.id, None)
            self._tasks.pop(job.id, None)


def job_from_summary(summary: BacktestSummary) -> BacktestJob:
    """The job view of a result stored earlier (by an earlier process, or by the CLI)."""
    s = summary
    return BacktestJob(
        id=s.id,
        state="done",
        progress=1.0,
        eta_seconds=0.0,
        estimated_duration_seconds=s.duration_seconds,
        created_ms=s.created_ms,
        finished_ms=s.created_ms + int(s.duration_seconds * 1000),
        strategy=s.strategy,
        symbols=s.symbols,
        exchange=s.exchange,
        timeframe=s.timeframe,
        start_ms=s.start_ms,
        end_ms=s.end_ms,
        bars=s.bars,
        result_id=s.id,
    )
