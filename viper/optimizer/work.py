"""One worker's share of an optimization: a `Task` in, a `TaskResult` out.

A job is split into shared-nothing tasks: each loads its own candles and evaluates its own part
(every W-th grid combination; study trials until no ticket is left; some walk-forward windows;
a list of parameter sets to evaluate in full). `run_task` runs one, in whatever process calls
it: a worker process (`viper.optimizer.child`) or the CLI's own for `--worker`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from viper.backtest.runs import load
from viper.errors import ValidationError
from viper.optimizer.evaluate import Dataset, Evaluator
from viper.optimizer.objectives import Figures, score
from viper.optimizer.results import TrialRecord, WindowReport
from viper.optimizer.spec import OptimizeSpec
from viper.optimizer.storage import StudyLock, open_storage
from viper.optimizer.study import open_study, run_trials, worker_name
from viper.optimizer.walkforward import run_windows
from viper.strategies import get_strategy

Kind = Literal["grid", "optuna", "windows", "evaluate"]
Progress = Callable[[int], None]


class Task(msgspec.Struct, frozen=True, kw_only=True):
    """A worker's part: grid combinations or windows by index, or parameter sets."""

    spec: OptimizeSpec
    kind: Kind
    indices: list[int] = msgspec.field(default_factory=list)
    param_sets: list[dict[str, Any]] = msgspec.field(default_factory=list)
    study: str = ""
    storage: str = ""


class TaskResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a task found."""

    trials: list[TrialRecord] = msgspec.field(default_factory=list)
    windows: list[WindowReport] = msgspec.field(default_factory=list)
    figures: list[Figures | None] = msgspec.field(default_factory=list)
    ran: int = 0


def evaluator_of(spec: OptimizeSpec) -> Evaluator:
    """The spec's candles loaded once, ready to evaluate parameter sets."""
    frames, funding = load(spec.backtest)
    dataset = Dataset(frames, funding, spec.backtest.timeframe)
    strategy = get_strategy(spec.backtest.strategy)
    return Evaluator(dataset, strategy, spec.settings(), spec.backtest.params)


def grid_trials(
    spec: OptimizeSpec, ev: Evaluator, indices: list[int], progress: Progress | None = None
) -> list[TrialRecord]:
    """Grid combinations `indices` (positions in `spec.space.grid()`), evaluated."""
    wanted = set(indices)
    found, me = [], worker_name()
    for number, values in enumerate(spec.space.grid()):
        if number not in wanted:
            continue
        found.append(_trial(spec, ev, number, values, me))
        if progress is not None:
            progress(len(found))
    return found


def _trial(
    spec: OptimizeSpec, ev: Evaluator, number: int, values: dict[str, Any], me: str
) -> TrialRecord:
    try:
        figures = ev.run(ev.params(values))
    except ValidationError as exc:
        return TrialRecord(
            number=number, params=values, value=None, state="failed", note=exc.detail, worker=me
        )
    value, note = score(figures, spec.objective, spec.constraints)
    ok = math.isfinite(value)
    return TrialRecord(
        number=number,
        params=values,
        value=value if ok else None,
        state="complete" if ok else "invalid",
        figures=figures,
        note=note,
        worker=me,
    )


def evaluate_sets(
    ev: Evaluator, param_sets: list[dict[str, Any]], progress: Progress | None = None
) -> list[Figures | None]:
    """Each parameter set run once over the whole period (None when it is invalid)."""
    found: list[Figures | None] = []
    for values in param_sets:
        try:
            found.append(ev.run(ev.params(values)))
        except ValidationError:
            found.append(None)
        if progress is not None:
            progress(len(found))
    return found


def run_task(task: Task, progress: Progress | None = None) -> TaskResult:
    """Run one task here; blocking and CPU-bound."""
    spec = task.spec
    ev = evaluator_of(spec)
    if task.kind == "grid":
        trials = grid_trials(spec, ev, task.indices, progress)
        return TaskResult(trials=trials, ran=len(trials))
    if task.kind == "windows":
        reports = run_windows(spec, ev, task.indices, progress)
        return TaskResult(windows=reports, ran=len(reports))
    if task.kind == "evaluate":
        figures = evaluate_sets(ev, task.param_sets, progress)
        return TaskResult(figures=figures, ran=len(figures))
    storage = open_storage(task.storage)
    study = open_study(spec, storage, task.study, spec.wait_seconds)
    ran = run_trials(study, spec, ev, StudyLock(task.storage, task.study, storage), progress)
    return TaskResult(ran=ran)
