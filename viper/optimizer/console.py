"""An optimization at the terminal: flags to a request, a tqdm bar, a results table, storage.

`viper optimize` (viper/cli_optimize.py) drives these steps. Without `--worker` it runs the
job exactly as the optimizer module does (worker processes, same result, stored in the same
database); with `--worker` this process joins a named study and runs its trials itself.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import msgspec
from tqdm import tqdm

from viper.config import Config
from viper.errors import ValidationError
from viper.http import convert_as
from viper.optimizer.results import OptimizationResult, TrialRecord
from viper.optimizer.runner import optimize, study_result
from viper.optimizer.spec import OptimizeRequest, OptimizeSpec, resolve
from viper.optimizer.storage import open_storage
from viper.optimizer.store import OptimizerStore
from viper.optimizer.study import load_study, wait_finished
from viper.optimizer.work import Task, run_task
from viper.store.candles import CandleStore
from viper.store.sqlite import Database

FLAGS = {
    "symbols": "--symbols",
    "start_date": "--start",
    "end_date": "--end",
    "strategy": "--strategy",
    "method": "--method",
    "timeframe": "--timeframe",
    "exchange": "--exchange",
    "objective": "--objective",
    "constraints": "--min-trades/--max-drawdown",
    "space": "--space",
    "parameters": "--param",
    "trials": "--trials",
    "sampler": "--sampler",
    "pruner": "--pruner",
    "study": "--study",
    "storage": "--storage",
    "walk_forward": "--windows/--ratio",
    "initial_capital": "--capital",
    "sizing": "--sizing",
    "top_n": "--top",
}


def flag_error(exc: ValidationError) -> ValidationError:
    """The same error, naming the command-line flag instead of the API field."""
    field = exc.field or ""
    name, _, rest = field.partition(".")
    flag = FLAGS.get(name, name) + (f" {rest}" if rest else "")
    detail = exc.detail.removeprefix(f"{field}:").strip()
    return ValidationError(f"{flag}: {detail}" if flag else detail, field=exc.field)


def prepare(raw: dict[str, Any], config: Config) -> OptimizeSpec:
    """The request the flags describe, checked against the configured candle store."""
    try:
        request = convert_as(raw, OptimizeRequest)
        store = CandleStore(config.store.candles_dir)
        return resolve(request, config, store, job_id=uuid.uuid4().hex[:16], source="cli")
    except ValidationError as exc:
        raise flag_error(exc) from None


def run(spec: OptimizeSpec, workers: int, show_progress: bool) -> OptimizationResult:
    """Run the job over `workers` processes with a progress bar on stderr."""
    with tqdm(total=1000, desc=f"optimize {spec.id}", disable=not show_progress) as bar:

        def progress(fraction: float) -> None:
            bar.update(max(0, round(fraction * 1000) - bar.n))

        result = asyncio.run(optimize(spec, workers, progress))
    return msgspec.structs.replace(result, created_ms=int(time.time() * 1000))


def run_worker(spec: OptimizeSpec, show_progress: bool) -> tuple[OptimizationResult, int]:
    """Join the spec's study, run trials here until none is left, then read the whole study."""
    if spec.study is None:
        raise ValidationError("--study: a worker joins a named study", field="study")
    started = time.perf_counter()
    task = Task(spec=spec, kind="optuna", study=spec.study, storage=spec.storage)
    with tqdm(total=spec.trials, desc=f"study {spec.study}", disable=not show_progress) as bar:
        ran = run_task(task, lambda done: bar.update(max(0, done - bar.n))).ran
    wait_finished(load_study(spec, open_storage(spec.storage), spec.study), spec.wait_seconds)
    result = study_result(spec, spec.storage, spec.study)
    return (
        msgspec.structs.replace(
            result,
            created_ms=int(time.time() * 1000),
            duration_seconds=round(time.perf_counter() - started, 3),
        ),
        ran,
    )


def save(config: Config, result: OptimizationResult) -> None:
    """Store the result in the configured database, as the optimizer module does."""

    async def store() -> None:
        db = Database(config.store.database)
        await db.open()
        try:
            target = OptimizerStore(db)
            await target.migrate()
            await target.save(result, "cli")
        finally:
            await db.close()

    asyncio.run(store())


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _row(t: TrialRecord, names: list[str]) -> str:
    f = t.figures
    params = "  ".join(f"{n}={t.params.get(n)}" for n in names)
    figures = f"{f.total_trades:>7}{f.total_return:>10.2%}{f.max_drawdown:>9.2%}" if f else " " * 26
    return f"  {t.number:>6}  {_num(t.value):>9}{figures}  {params}"


def table(result: OptimizationResult) -> str:
    """The result as aligned text: header, top-N, importance, walk-forward windows."""
    r, names = result, list(result.space.params)
    lines = [
        f"Optimization {r.id}: {r.method} {r.strategy} on {', '.join(r.symbols)} ({r.timeframe})",
        f"objective {r.objective}, {r.trials} trials ({r.valid_trials} valid), "
        f"{r.duration_seconds:.1f} s" + (f", study {r.study}" if r.study else ""),
        "",
        f"  {'trial':>6}  {r.objective:>9}{'trades':>7}{'return':>10}{'max dd':>9}  parameters",
    ]
    lines += [_row(t, names) for t in r.top]
    lines += ["", "  importance (" + r.importance_method + "): "]
    lines[-1] += ", ".join(f"{n} {v:.2f}" for n, v in r.importance.items())
    if r.walk_forward is not None:
        wf = r.walk_forward
        lines += ["", f"  {'window':>6}  {'in-sample':<21}  {'IS':>8}  {'OOS':>8}  best"]
        for w in wf.windows:
            span = f"{w.in_sample[0][:10]}..{w.out_of_sample[1][:10]}"
            lines.append(
                f"  {w.index:>6}  {span:<21}  {_num(w.in_value):>8}  {_num(w.out_value):>8}"
                f"  {w.best_params}"
            )
        lines.append(f"  mean IS {_num(wf.mean_in)}, mean OOS {_num(wf.mean_out)}")
        if wf.warning:
            lines.append(f"  WARNING: {wf.warning}")
    lines += ["", f"best: {r.best_params} ({r.objective} {_num(r.best_value)})"]
    return "\n".join(lines)


def as_json(result: OptimizationResult, ran: int | None = None) -> str:
    """The result as JSON (plus the trials this worker ran, for `--worker`)."""
    body: dict[str, Any] = msgspec.to_builtins(result)
    if ran is not None:
        body["ran_here"] = ran
    return json.dumps(body, indent=2)
