"""Optimization jobs: queued, run over the worker processes, followed, cancelled, stored.

One job runs at a time (each uses `[backtester] workers` processes); the others wait in the
queue. Cancelling a queued job drops it; cancelling a running one ends its worker processes
(`viper.optimizer.runner` ends them whenever its coroutine is cancelled). A finished job's
result is stored; a failed or cancelled one stores nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

import msgspec
from loguru import logger

from viper.clock import Clock
from viper.errors import NotFoundError, ViperError
from viper.optimizer.results import OptimizationResult
from viper.optimizer.spec import OptimizeSpec
from viper.optimizer.store import OptimizerStore

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
ACTIVE: tuple[JobState, ...] = ("queued", "running")
MAX_JOBS_KEPT = 50


class OptimizeJob(msgspec.Struct, kw_only=True):
    """An optimization job and where it stands; `result` once it is done."""

    id: str
    state: JobState
    method: str
    strategy: str
    symbols: list[str]
    timeframe: str
    objective: str
    trials: int
    progress: float = 0.0
    eta_seconds: float | None = None
    created_ms: int
    started_ms: int | None = None
    finished_ms: int | None = None
    worker_pids: list[int] = msgspec.field(default_factory=list)
    error: str = ""
    field: str | None = None
    result: OptimizationResult | None = None


class OptimizeJobs:
    """Runs specs as jobs and remembers the recent ones."""

    def __init__(self, store: OptimizerStore, clock: Clock, workers: int) -> None:
        self._store, self._clock, self.workers = store, clock, workers
        self._slot = asyncio.Semaphore(1)
        self._jobs: dict[str, OptimizeJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._pids: dict[str, set[int]] = {}
        self._started: dict[str, float] = {}

    def submit(self, spec: OptimizeSpec) -> OptimizeJob:
        """Queue `spec`; it runs when the slot is free."""
        b = spec.backtest
        job = OptimizeJob(
            id=spec.id,
            state="queued",
            method=spec.method,
            strategy=b.strategy,
            symbols=b.symbols,
            timeframe=b.timeframe,
            objective=spec.objective,
            trials=spec.trials if spec.method == "optuna" else 0,
            created_ms=self._clock.now_ms(),
        )
        self._jobs[job.id] = job
        self._forget_old()
        self._tasks[job.id] = asyncio.create_task(self._run(job, spec), name=f"optimize:{job.id}")
        return job

    def get(self, job_id: str) -> OptimizeJob | None:
        """A job this process knows, its ETA and worker processes brought up to date."""
        job = self._jobs.get(job_id)
        if job is not None:
            self._refresh(job)
        return job

    def list(self) -> list[OptimizeJob]:
        """Known jobs, newest first."""
        jobs = sorted(self._jobs.values(), key=lambda j: j.created_ms, reverse=True)
        for job in jobs:
            self._refresh(job)
        return jobs

    def counts(self) -> dict[str, int]:
        """Jobs queued and running."""
        states = [j.state for j in self._jobs.values()]
        return {state: states.count(state) for state in ACTIVE}

    async def cancel(self, job_id: str) -> OptimizeJob:
        """Drop a queued job or end a running one's processes; a finished job is unchanged."""
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no optimization job {job_id!r}")
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._refresh(job)
        return job

    async def stop(self) -> None:
        """Cancel every job and wait until their processes have ended."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _refresh(self, job: OptimizeJob) -> None:
        job.worker_pids = sorted(self._pids.get(job.id, ()))
        job.eta_seconds = self._eta(job)

    def _eta(self, job: OptimizeJob) -> float | None:
        if job.state == "done":
            return 0.0
        started = self._started.get(job.id)
        if job.state != "running" or started is None or job.progress < 0.05:
            return None
        elapsed = self._clock.monotonic() - started
        return round(elapsed * (1.0 - job.progress) / job.progress, 2)

    async def _run(self, job: OptimizeJob, spec: OptimizeSpec) -> None:
        pids: set[int] = set()
        try:
            async with self._slot:
                self._started[job.id] = self._clock.monotonic()
                job.started_ms, job.state = self._clock.now_ms(), "running"
                self._pids[job.id] = pids

                def progress(fraction: float) -> None:
                    job.progress = max(job.progress, min(1.0, fraction))

                # optuna and SQLAlchemy (~40 MB) load with the first job, not with the process

                from viper.optimizer.runner import optimize

                result = await optimize(spec, self.workers, progress, pids)
                result = msgspec.structs.replace(result, created_ms=job.created_ms)
                await self._store.save(result, "api")
                job.result, job.progress = result, 1.0
                self._finish(job, "done")
        except asyncio.CancelledError:
            self._finish(job, "cancelled")
            raise
        except ViperError as exc:
            job.field = exc.field
            self._finish(job, "failed", exc.detail)
        except Exception as exc:
            self._finish(job, "failed", f"{type(exc).__name__}: {exc}")
            logger.opt(exception=exc).error("optimization job {} failed", job.id)
        finally:
            self._pids.pop(job.id, None)
            self._started.pop(job.id, None)

    def _finish(self, job: OptimizeJob, state: JobState, error: str = "") -> None:
        job.finished_ms = self._clock.now_ms()
        job.error = error
        job.state = state
        self._refresh(job)

    def _forget_old(self) -> None:
        finished = [j for j in self.list() if j.state not in ACTIVE]
        for job in finished[MAX_JOBS_KEPT:]:
            self._jobs.pop(job.id, None)
            self._tasks.pop(job.id, None)
