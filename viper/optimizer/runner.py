"""Run a whole optimization over worker processes and merge what they found.

`optimize(spec, workers, progress)` splits the job into shared-nothing tasks, one worker
process each (`process.WorkerProcess`), follows their progress, and merges their parts into one
`OptimizationResult`:
* grid: worker k evaluates combinations k, k+W, k+2W, ...; variance-based importance;
* optuna: every worker runs trials of one study (the named one on the shared storage, or a
  journal file of the job's own) until its tickets are spent; fANOVA importance; with the
  pruner on, the top-N parameter sets are then run once more over the whole period;
* walk_forward: worker k takes windows k, k+W, ...
Cancelling the coroutine ends every worker process. Blocking storage reads run in a thread.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

import msgspec

from viper.errors import ViperError
from viper.optimizer import walkforward
from viper.optimizer.child import Failed, Finished, Progress
from viper.optimizer.importance import study_importance, variance_importance
from viper.optimizer.process import WorkerProcess
from viper.optimizer.results import OptimizationResult, TrialRecord, rank
from viper.optimizer.spec import OptimizeSpec
from viper.optimizer.storage import open_storage
from viper.optimizer.study import load_study, records, wait_finished
from viper.optimizer.work import Task, TaskResult

OnProgress = Callable[[float], None]
# process ids of the running workers, kept up to date for whoever watches the job
_PIDS: ContextVar[set[int] | None] = ContextVar("optimizer_worker_pids", default=None)


def error_for_code(code: str, detail: str, field: str | None) -> ViperError:
    """The ViperError class a worker reported by `code`, rebuilt in this process."""
    pending: list[type[ViperError]] = [ViperError]
    while pending:
        cls = pending.pop()
        if cls.code == code:
            return cls(detail, field=field)
        pending.extend(cls.__subclasses__())
    return ViperError(detail, field=field)


async def _follow(worker: WorkerProcess, on_done: Callable[[int], None]) -> TaskResult:
    """Read one worker's messages to the end; its failure raises the matching ViperError."""
    while True:
        message = await worker.receive()
        match message:
            case Progress(done=done):
                on_done(done)
            case Finished(result=result):
                on_done(result.ran)
                return result
            case Failed(code=code, detail=detail, field=field):
                raise error_for_code(code, detail, field)
            case None:
                raise ViperError(
                    f"an optimizer worker exited with code {worker.returncode} and no result"
                )


async def run_tasks(tasks: list[Task], total: int, progress: OnProgress | None) -> list[TaskResult]:
    """Run `tasks` in parallel worker processes; `progress` gets the fraction of `total` done."""
    done = [0] * len(tasks)
    workers = [WorkerProcess(t) for t in tasks]

    def tick(i: int) -> Callable[[int], None]:
        def set_done(n: int) -> None:
            done[i] = n
            if progress is not None and total > 0:
                progress(min(1.0, sum(done) / total))

        return set_done

    pids = _PIDS.get()
    try:
        for w in workers:
            await w.start()
            if pids is not None and w.pid is not None:
                pids.add(w.pid)
        return list(await asyncio.gather(*(_follow(w, tick(i)) for i, w in enumerate(workers))))
    finally:
        await asyncio.gather(*(w.end() for w in workers), return_exceptions=True)
        for w in workers:
            if pids is not None and w.pid is not None:
                pids.discard(w.pid)


def _result(spec: OptimizeSpec, trials: list[TrialRecord], **extra: object) -> OptimizationResult:
    b = spec.backtest
    ranked = rank(trials)
    best = ranked[0] if ranked else None
    fields: dict[str, object] = {
        "id": spec.id,
        "method": spec.method,
        "strategy": b.strategy,
        "symbols": b.symbols,
        "exchange": b.exchange,
        "timeframe": b.timeframe,
        "start_ms": b.start_ms,
        "end_ms": b.end_ms,
        "objective": spec.objective,
        "constraints": spec.constraints,
        "space": spec.space,
        "sizing": spec.sizing,
        "trials": len(trials),
        "valid_trials": len(ranked),
        "base_params": b.params,
        "best_params": best.params if best else None,
        "best_value": best.value if best else None,
        "best_figures": best.figures if best else None,
        "top": ranked[: spec.top_n],
        "importance": {},
        "importance_method": "variance",
    }
    fields.update(extra)
    return msgspec.convert(fields, OptimizationResult, from_attributes=True)


async def optimize_grid(
    spec: OptimizeSpec, workers: int, progress: OnProgress | None
) -> OptimizationResult:
    total = sum(1 for _ in spec.space.grid())
    w = max(1, min(workers, total))
    tasks = [Task(spec=spec, kind="grid", indices=list(range(k, total, w))) for k in range(w)]
    parts = await run_tasks(tasks, total, progress)
    trials = sorted((t for p in parts for t in p.trials), key=lambda t: t.number)
    importance = variance_importance(trials, spec.space.names())
    return _result(spec, trials, importance=importance, importance_method="variance")


async def optimize_study(
    spec: OptimizeSpec, workers: int, progress: OnProgress | None
) -> OptimizationResult:
    scratch = None
    if spec.study is None:
        scratch = Path(tempfile.mkdtemp(prefix="viper-optuna-"))
        storage, name = f"journal://{scratch / 'study.log'}", f"viper-{spec.id}"
    else:
        storage, name = spec.storage, spec.study
    try:
        base = Task(spec=spec, kind="optuna", study=name, storage=storage)
        await run_tasks([base] * max(1, workers), spec.trials, _share(progress, 0.0, 0.9))
        trials, importance, method = await asyncio.to_thread(_read_study, spec, storage, name)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    trials = await _rerun_top(spec, trials, _share(progress, 0.9, 0.1))
    return _result(spec, trials, importance=importance, importance_method=method, study=spec.study)


def study_result(spec: OptimizeSpec, storage: str, name: str) -> OptimizationResult:
    """The merged result of a study as it stands (blocking: reads the storage)."""
    trials, importance, method = _read_study(spec, storage, name)
    return _result(spec, trials, importance=importance, importance_method=method, study=name)


def _read_study(
    spec: OptimizeSpec, storage: str, name: str
) -> tuple[list[TrialRecord], dict[str, float], str]:
    study = load_study(spec, open_storage(storage), name)
    wait_finished(study, spec.wait_seconds)
    trials = records(study)
    importance, method = study_importance(study, trials, spec.space.names())
    return trials, importance, method


async def _rerun_top(
    spec: OptimizeSpec, trials: list[TrialRecord], progress: OnProgress | None
) -> list[TrialRecord]:
    """With chunked (pruned) evaluation, give the top-N their whole-period figures."""
    top = rank(trials)[: spec.top_n]
    if spec.chunks <= 1 or not top:
        return trials
    whole = msgspec.structs.replace(spec, chunks=1)
    task = Task(spec=whole, kind="evaluate", param_sets=[t.params for t in top])
    (part,) = await run_tasks([task], len(top), progress)
    redone = {t.number: t for t in trials}
    for t, figures in zip(top, part.figures, strict=True):
        redone[t.number] = msgspec.structs.replace(t, figures=figures)
    return sorted(redone.values(), key=lambda t: t.number)


def _share(progress: OnProgress | None, start: float, width: float) -> OnProgress | None:
    if progress is None:
        return None
    return lambda fraction: progress(start + width * fraction)


async def optimize_walk_forward(
    spec: OptimizeSpec, workers: int, progress: OnProgress | None
) -> OptimizationResult:
    k = spec.walk_forward.windows
    w = max(1, min(workers, k))
    tasks = [Task(spec=spec, kind="windows", indices=list(range(i, k, w))) for i in range(w)]
    parts = await run_tasks(tasks, k, progress)
    reports = [r for p in parts for r in p.windows]
    wf = walkforward.report(spec, reports)
    trials = [
        TrialRecord(
            number=r.index,
            params=r.best_params,
            value=r.out_value,
            figures=r.out_figures,
            note="out-of-sample",
        )
        for r in wf.windows
        if r.best_params is not None
    ]
    importance = variance_importance(trials, spec.space.names())
    result = _result(spec, trials, importance=importance, walk_forward=wf)
    best = walkforward.best_params(reports)
    last = next((r for r in reversed(wf.windows) if r.best_params is not None), None)
    return msgspec.structs.replace(
        result,
        best_params=best,
        best_value=last.out_value if last else None,
        best_figures=last.out_figures if last else None,
    )


async def optimize(
    spec: OptimizeSpec,
    workers: int,
    progress: OnProgress | None = None,
    pids: set[int] | None = None,
) -> OptimizationResult:
    """Run `spec` over `workers` processes; the result carries its duration. `pids` is kept
    holding the process ids of the workers running at any moment."""
    _PIDS.set(pids)
    started = time.perf_counter()
    if spec.method == "grid":
        result = await optimize_grid(spec, workers, progress)
    elif spec.method == "optuna":
        result = await optimize_study(spec, workers, progress)
    else:
        result = await optimize_walk_forward(spec, workers, progress)
    if progress is not None:
        progress(1.0)
    return msgspec.structs.replace(result, duration_seconds=round(time.perf_counter() - started, 3))
