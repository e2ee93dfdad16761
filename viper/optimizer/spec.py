"""An optimization request, validated into a self-contained spec a worker process can run.

`OptimizeRequest` is the body of `POST /optimizer/optimize` and what `viper optimize` builds
from its flags. `resolve` checks it against the config and the candle store (through the
backtester's own `resolve`, so dates, symbols and parameters fail exactly as a backtest's do)
and fills every default from `[optimizer]`; errors are ValidationErrors naming the field.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from viper.backtest.runs import BacktestSpec, Sizing
from viper.backtest.runs import resolve as resolve_backtest
from viper.backtest.settings import BacktestSettings
from viper.config import Config, OptimizerConfig
from viper.errors import ValidationError
from viper.optimizer.objectives import Constraints, Objective
from viper.optimizer.space import (
    Condition,
    Param,
    SearchSpace,
    check,
    default_space,
    merge,
    stops_always_set,
)
from viper.optimizer.urls import check_url
from viper.protocols import BacktestRequest
from viper.store.candles import CandleStore
from viper.strategies import get_strategy

Method = Literal["grid", "optuna", "walk_forward"]
Sampler = Literal["tpe", "cmaes", "random"]
Pruner = Literal["median", "none"]


class WalkForwardSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Windows: `windows` in-sample/out-of-sample pairs; lengths in bars, or from the ratio."""

    windows: Annotated[int, Meta(ge=1, le=100)] = 5
    ratio: Annotated[float, Meta(gt=0, le=100)] = 4.0
    in_bars: Annotated[int, Meta(ge=0)] = 0
    out_bars: Annotated[int, Meta(ge=0)] = 0
    anchored: bool = False
    inner: Literal["auto", "grid", "optuna"] = "auto"


class OptimizeRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An optimization. Unset fields come from `[optimizer]`, `[risk]` and `[trading]`."""

    symbols: Annotated[list[str], Meta(min_length=1, max_length=20)]
    start_date: str
    end_date: str
    strategy: str = "sma_cross"
    method: Method = "grid"
    timeframe: str | None = None
    exchange: str | None = None
    objective: Objective | None = None
    constraints: Constraints | None = None
    space: dict[str, Param | None] = msgspec.field(default_factory=dict)
    conditions: list[Condition] | None = None
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)
    trials: Annotated[int, Meta(ge=1, le=100_000)] | None = None
    sampler: Sampler | None = None
    pruner: Pruner | None = None
    seed: int | None = None
    study: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")] | None = None
    storage: str | None = None
    walk_forward: WalkForwardSettings | None = None
    initial_capital: Annotated[float, Meta(gt=0)] = 10_000.0
    sizing: Sizing | None = None
    top_n: Annotated[int, Meta(ge=1, le=1000)] | None = None


class OptimizeSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A validated optimization: everything a worker needs, nothing it must look up."""

    id: str
    method: Method
    backtest: BacktestSpec
    space: SearchSpace
    objective: str
    constraints: Constraints
    sizing: Sizing
    trials: int
    sampler: Sampler
    pruner: Pruner
    chunks: int
    seed: int | None
    study: str | None
    storage: str
    top_n: int
    walk_forward: WalkForwardSettings
    overfit_ratio: float
    max_grid: int
    wait_seconds: float

    def settings(self) -> BacktestSettings:
        """The engine settings of every run."""
        b = self.backtest
        return BacktestSettings(
            initial_capital=b.initial_capital,
            timeframe=b.timeframe,
            sizing=self.sizing,
            risk=b.risk,
            fees=b.fees,
        )

    def problem(self) -> dict[str, Any]:
        """What must be equal for two workers to share a study."""
        b = self.backtest
        return msgspec.to_builtins(
            {
                "strategy": b.strategy,
                "params": b.params,
                "exchange": b.exchange,
                "symbols": b.symbols,
                "timeframe": b.timeframe,
                "start_ms": b.start_ms,
                "end_ms": b.end_ms,
                "space": self.space,
                "objective": self.objective,
                "constraints": self.constraints,
                "settings": self.settings(),
                "chunks": self.chunks,
            }
        )

    def problem_hash(self) -> str:
        """A short stable hash of `problem()`."""
        raw = msgspec.json.encode(self.problem(), order="sorted")
        return hashlib.sha256(raw).hexdigest()[:16]


def _space(request: OptimizeRequest, base: dict[str, Any]) -> tuple[SearchSpace, bool]:
    strategy = get_strategy(request.strategy)
    try:
        declared = default_space(strategy.name)
    except ValidationError:
        if not request.space:
            raise
        declared = None
    start = declared.space if declared is not None else SearchSpace(params={})
    space = merge(start, request.space, request.conditions)
    check(space, strategy, base)
    return space, stops_always_set(declared, space, base)


def _check_size(method: str, space: SearchSpace, trials: int, max_grid: int) -> None:
    size = space.size()
    if method == "grid" and size is not None and size > max_grid:
        raise ValidationError(
            f"space: {size} combinations exceed the grid limit {max_grid}; "
            "narrow the space or use method optuna",
            field="space",
        )
    if method == "grid" and size is None:
        next(iter(space.grid()), None)  # raises naming the float without a step
    if method == "optuna" and size is not None and size <= max_grid:
        valid = sum(1 for _ in space.grid())
        if trials > valid:
            raise ValidationError(
                f"trials: the space has only {valid} valid combinations; ask for at most "
                f"{valid} trials or use method grid",
                field="trials",
            )


def _backtest(
    request: OptimizeRequest, config: Config, store: CandleStore, job_id: str, source: str
) -> BacktestSpec:
    """Symbols, dates, data and fixed parameters, checked as a backtest checks them."""
    return resolve_backtest(
        BacktestRequest(
            symbols=request.symbols,
            start_date=request.start_date,
            end_date=request.end_date,
            initial_capital=request.initial_capital,
            strategy=request.strategy,
            exchange=request.exchange,
            timeframe=request.timeframe,
            parameters=request.parameters,
            sizing=request.sizing,
        ),
        config,
        store,
        backtest_id=job_id,
        source=source,
    )


def _storage(request: OptimizeRequest, opt: OptimizerConfig) -> str:
    """The named study's storage URL ('' without a study)."""
    if request.study is None:
        return ""
    if request.method != "optuna":
        raise ValidationError("study: only method optuna runs a named study", field="study")
    storage = request.storage if request.storage is not None else opt.storage.reveal()
    if not storage:
        raise ValidationError(
            "storage: a named study needs a storage URL (or [optimizer] storage)", field="storage"
        )
    check_url(storage)
    return storage


def resolve(
    request: OptimizeRequest, config: Config, store: CandleStore, *, job_id: str, source: str
) -> OptimizeSpec:
    """Check `request` against the config and the stored candles; blocking (store reads)."""
    opt: OptimizerConfig = config.optimizer
    backtest = _backtest(request, config, store, job_id, source)
    space, stops = _space(request, backtest.params)
    trials = request.trials or opt.trials
    _check_size(request.method, space, trials, opt.max_grid)
    pruner = request.pruner or opt.pruner
    return OptimizeSpec(
        id=job_id,
        method=request.method,
        backtest=backtest,
        space=space,
        objective=request.objective or opt.objective,
        constraints=request.constraints
        or Constraints(min_trades=opt.min_trades, max_drawdown=opt.max_drawdown or None),
        sizing=request.sizing or ("risk" if stops else "fixed_fraction"),
        trials=trials,
        sampler=request.sampler or opt.sampler,
        pruner=pruner,
        chunks=opt.pruner_chunks if pruner != "none" else 1,
        seed=request.seed,
        study=request.study,
        storage=_storage(request, opt),
        top_n=request.top_n or opt.top_n,
        walk_forward=request.walk_forward or WalkForwardSettings(),
        overfit_ratio=opt.overfit_ratio,
        max_grid=opt.max_grid,
        wait_seconds=opt.wait_seconds,
    )
