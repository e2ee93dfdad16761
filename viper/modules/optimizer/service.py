"""The optimizer's service: validate and queue optimizations, read results, apply parameters.

Validation reads only the candle store's metadata (in a thread); the candles themselves are
read by the job's worker processes. Applying parameters validates them against the strategy,
persists them (append-only, with actor and source job) and publishes
`StrategyParametersApplied`; the live module reads them from there.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec

from viper.bus import EventBus
from viper.clock import Clock
from viper.config import Config
from viper.errors import NotFoundError, ValidationError
from viper.events import StrategyParametersApplied
from viper.modules.optimizer.jobs import OptimizeJob, OptimizeJobs
from viper.optimizer.results import OptimizationResult
from viper.optimizer.space import DEFAULT_SPACES, SearchSpace
from viper.optimizer.spec import OptimizeRequest, resolve
from viper.optimizer.store import AppliedParameters, OptimizerStore, StoredBest
from viper.store.candles import CandleStore
from viper.strategies import STRATEGIES, get_strategy


class ApplyRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Apply a job's best parameters (`job_id`), or explicit `strategy` + `parameters`."""

    job_id: str | None = None
    strategy: str | None = None
    parameters: dict[str, Any] | None = None
    symbol: str = "*"


class Parameters(msgspec.Struct, frozen=True, kw_only=True):
    """Search spaces by strategy, the best stored parameters, and what is applied now."""

    spaces: dict[str, SearchSpace]
    defaults: dict[str, dict[str, Any]]
    best: list[StoredBest]
    applied: list[AppliedParameters]


class OptimizerService:
    """Starts optimizations as jobs and serves their status and stored results."""

    def __init__(
        self,
        config: Config,
        jobs: OptimizeJobs,
        store: OptimizerStore,
        candles: CandleStore,
        bus: EventBus,
        clock: Clock,
    ) -> None:
        self._config, self.jobs, self.store = config, jobs, store
        self._candles, self._bus, self._clock = candles, bus, clock

    async def start(self, request: OptimizeRequest) -> OptimizeJob:
        """Validate `request` against the stored candles and queue it."""
        job_id = uuid.uuid4().hex[:16]
        spec = await asyncio.to_thread(
            resolve, request, self._config, self._candles, job_id=job_id, source="api"
        )
        return self.jobs.submit(spec)

    async def job(self, job_id: str) -> OptimizeJob:
        """A job of this process, else the done job of a stored result; NotFoundError else."""
        job = self.jobs.get(job_id)
        if job is not None:
            return job
        result = await self.result(job_id)
        return _done_job(result)

    async def cancel(self, job_id: str) -> OptimizeJob:
        """Cancel a job; a stored result answers as done."""
        if self.jobs.get(job_id) is not None:
            return await self.jobs.cancel(job_id)
        return await self.job(job_id)

    async def result(self, job_id: str) -> OptimizationResult:
        """A stored result; NotFoundError naming the job."""
        try:
            return await self.store.result(job_id)
        except NotFoundError:
            raise NotFoundError(f"no optimization job {job_id!r}") from None

    async def parameters(self) -> Parameters:
        """Default spaces, strategy defaults, best stored and applied parameters."""
        return Parameters(
            spaces={name: s.space for name, s in DEFAULT_SPACES.items()},
            defaults={name: s.defaults() for name, s in STRATEGIES.items()},
            best=await self.store.best(),
            applied=await self.store.applied(),
        )

    async def apply(self, request: ApplyRequest, actor: str) -> AppliedParameters:
        """Validate, persist and announce parameters for the live strategy."""
        strategy, params, source = await self._chosen(request)
        try:
            full = msgspec.to_builtins(get_strategy(strategy).params(params))
        except ValidationError as exc:
            raise ValidationError(
                f"parameters.{exc.field}: {exc.detail}", field=f"parameters.{exc.field}"
            ) from None
        applied = AppliedParameters(
            strategy=strategy,
            symbol=request.symbol,
            params=full,
            source_job=source,
            actor=actor,
            applied_ms=self._clock.now_ms(),
        )
        await self.store.apply(applied)
        await self._bus.publish(
            StrategyParametersApplied(
                ts_ms=applied.applied_ms,
                strategy=strategy,
                params=full,
                source_job=source,
                actor=actor,
                symbol=request.symbol,
            )
        )
        return applied

    async def _chosen(self, request: ApplyRequest) -> tuple[str, dict[str, Any], str]:
        if request.job_id is not None:
            result = await self.result(request.job_id)
            if result.best_params is None:
                raise ValidationError(
                    f"job_id: optimization {request.job_id} found no valid parameters",
                    field="job_id",
                )
            if request.symbol not in ("*", *result.symbols):
                raise ValidationError(
                    f"symbol: the optimization ran on {', '.join(result.symbols)}", field="symbol"
                )
            merged = {**result.base_params, **result.best_params, **(request.parameters or {})}
            return result.strategy, merged, request.job_id
        if request.strategy is None or request.parameters is None:
            raise ValidationError(
                "job_id: give a job_id, or a strategy with its parameters", field="job_id"
            )
        get_strategy(request.strategy)
        return request.strategy, dict(request.parameters), ""


def _done_job(result: OptimizationResult) -> OptimizeJob:
    return OptimizeJob(
        id=result.id,
        state="done",
        method=result.method,
        strategy=result.strategy,
        symbols=result.symbols,
        timeframe=result.timeframe,
        objective=result.objective,
        trials=result.trials,
        progress=1.0,
        eta_seconds=0.0,
        created_ms=result.created_ms,
        finished_ms=result.created_ms + int(result.duration_seconds * 1000),
        result=result,
    )
