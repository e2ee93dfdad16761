"""Optuna studies: create or join one, hand out exactly N trials, run them, read the outcome.

The worker that creates a study records the problem (`OptimizeSpec.problem`) and the trial
budget in its user attributes and enqueues one empty trial per budgeted trial: the tickets.
Every worker (any process, any machine) then loops: under the study lock, take a ticket
(`ask` pops a waiting trial) and let the sampler choose its parameters; outside the lock,
evaluate and `tell`. No ticket left means the budget is spent, so a study never runs more
than N trials however many workers join, and a worker whose problem differs is refused.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import msgspec
import optuna
from optuna.pruners import BasePruner, MedianPruner, NopPruner
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from viper.errors import ConflictError, TemporaryError, ValidationError
from viper.optimizer.evaluate import Evaluator, Window
from viper.optimizer.objectives import Figures, score
from viper.optimizer.results import TrialRecord
from viper.optimizer.sampler import make_sampler
from viper.optimizer.space import CategoricalParam, IntParam, SearchSpace
from viper.optimizer.spec import OptimizeSpec
from viper.optimizer.storage import StudyLock

PROBLEM, BUDGET, READY = "viper:problem", "viper:budget", "viper:ready"


def quiet_optuna() -> None:
    """Optuna logs each trial at INFO; a study of thousands of trials would flood stderr."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def worker_name() -> str:
    """host:pid of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pruner(spec: OptimizeSpec) -> BasePruner:
    if spec.pruner == "none":
        return NopPruner()
    return MedianPruner(n_startup_trials=5, n_warmup_steps=0)


def load_study(spec: OptimizeSpec, storage: BaseStorage, name: str) -> optuna.Study:
    """Load an existing study with the spec's sampler and pruner."""
    return optuna.load_study(
        study_name=name,
        storage=storage,
        sampler=make_sampler(spec.sampler, spec.space, spec.backtest.params, spec.seed),
        pruner=_pruner(spec),
    )


def open_study(
    spec: OptimizeSpec, storage: BaseStorage, name: str, wait_seconds: float = 60.0
) -> optuna.Study:
    """Create the study with its tickets, or join it; ConflictError if its problem differs."""
    quiet_optuna()
    problem = msgspec.json.encode(spec.problem(), order="sorted").decode()
    try:
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    except optuna.exceptions.DuplicatedStudyError:
        study = load_study(spec, storage, name)
        _wait_ready(study, wait_seconds)
        if study.user_attrs.get(PROBLEM) != problem:
            raise ConflictError(
                f"study: {name!r} exists with another problem (strategy, data, space, "
                "objective or settings differ); use another study name",
                field="study",
            ) from None
        return study
    study.set_user_attr(PROBLEM, problem)
    study.set_user_attr(BUDGET, spec.trials)
    for _ in range(spec.trials):
        study.enqueue_trial({}, skip_if_exists=False)
    study.set_user_attr(READY, True)
    return load_study(spec, storage, name)


def _wait_ready(study: optuna.Study, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while not study.user_attrs.get(READY):
        if time.monotonic() > deadline:
            raise TemporaryError(f"study: {study.study_name!r} was created but never got ready")
        time.sleep(0.2)


def _has_ticket(study: optuna.Study) -> bool:
    return bool(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Every parameter of the space (the SpaceSampler chose them all at once)."""
    values: dict[str, Any] = {}
    for name, p in space.params.items():
        if isinstance(p, CategoricalParam):
            values[name] = trial.suggest_categorical(name, p.choices)
        elif isinstance(p, IntParam):
            values[name] = trial.suggest_int(name, p.low, p.high, step=p.step, log=p.log)
        else:
            values[name] = trial.suggest_float(name, p.low, p.high, step=p.step, log=p.log)
    return values


def evaluate_trial(
    trial: optuna.Trial,
    values: dict[str, Any],
    spec: OptimizeSpec,
    evaluator: Evaluator,
    window: Window | None = None,
) -> tuple[float, Figures]:
    """The trial's objective on `window`, reporting each chunk to the pruner."""

    def report(step: int, figures: Figures) -> None:
        value, _ = score(figures, spec.objective, spec.constraints)
        if spec.chunks > 1 and math.isfinite(value):
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at chunk {step + 1} of {spec.chunks}")

    figures = evaluator.run(evaluator.params(values), window, spec.chunks, report)
    value, note = score(figures, spec.objective, spec.constraints)
    if not math.isfinite(value):
        raise _Invalid(note, figures)
    return value, figures


class _Invalid(Exception):
    def __init__(self, note: str, figures: Figures | None = None) -> None:
        super().__init__(note)
        self.figures = figures


def run_trials(
    study: optuna.Study,
    spec: OptimizeSpec,
    evaluator: Evaluator,
    lock: StudyLock,
    on_trial: Callable[[int], None] | None = None,
    window: Window | None = None,
) -> int:
    """Take and run tickets until none is left; returns how many this worker ran."""
    done, me = 0, worker_name()
    while True:
        with lock.held():
            if not _has_ticket(study):
                return done
            trial = study.ask()
            values = suggest(trial, spec.space)
        trial.set_user_attr("worker", me)
        _run_one(study, trial, values, spec, evaluator, window)
        done += 1
        if on_trial is not None:
            on_trial(done)


def _run_one(
    study: optuna.Study,
    trial: optuna.Trial,
    values: dict[str, Any],
    spec: OptimizeSpec,
    evaluator: Evaluator,
    window: Window | None,
) -> None:
    try:
        value, figures = evaluate_trial(trial, values, spec, evaluator, window)
    except optuna.TrialPruned as exc:
        trial.set_user_attr("note", str(exc))
        study.tell(trial, state=TrialState.PRUNED)
        return
    except _Invalid as exc:
        trial.set_user_attr("note", str(exc))
        if exc.figures is not None:
            trial.set_user_attr("figures", msgspec.to_builtins(exc.figures))
        study.tell(trial, state=TrialState.PRUNED)
        return
    except ValidationError as exc:
        trial.set_user_attr("note", exc.detail)
        study.tell(trial, state=TrialState.FAIL)
        return
    trial.set_user_attr("figures", msgspec.to_builtins(figures))
    study.tell(trial, value)


def wait_finished(study: optuna.Study, wait_seconds: float) -> bool:
    """Wait until no trial of the study is waiting or running; False on timeout."""
    deadline = time.monotonic() + wait_seconds
    active = (TrialState.WAITING, TrialState.RUNNING)
    while study.get_trials(deepcopy=False, states=active):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


_STATES = {
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "failed",
}


def record_of(t: FrozenTrial) -> TrialRecord:
    """A finished optuna trial as a `TrialRecord`."""
    raw = t.user_attrs.get("figures")
    figures = msgspec.convert(raw, Figures) if raw else None
    note = t.user_attrs.get("note", "")
    state = _STATES.get(t.state, "failed")
    if state == "pruned" and not note.startswith("pruned"):
        state = "invalid"
    return TrialRecord(
        number=t.number,
        params=dict(t.params),
        value=t.value if t.state == TrialState.COMPLETE else None,
        state=state,  # type: ignore[arg-type]
        figures=figures,
        note=note,
        worker=t.user_attrs.get("worker", ""),
    )


def records(study: optuna.Study) -> list[TrialRecord]:
    """Every finished trial of the study."""
    finished = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    return [record_of(t) for t in study.get_trials(deepcopy=False, states=finished)]
