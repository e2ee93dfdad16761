"""Walk-forward validation: optimize in-sample, run the best out-of-sample, window by window.

Rolling windows: with `k` windows and ratio `r` = in/out length, out = bars / (r + k), in =
r * out; window i is in-sample [i*out, i*out + in) and out-of-sample the next `out` bars.
Anchored windows all start at bar 0 and grow by `out` each time. `in_bars` / `out_bars` set
the lengths directly. In-sample search is the grid when the space is small enough, else an
in-memory TPE study of `trials` trials (the `inner` setting forces either).

The report gives each window's IS and OOS objective, how far each parameter's best value moved
between windows, and an overfitting warning when mean OOS < `overfit_ratio` x mean IS.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np
import optuna

from viper.backtest.metrics import iso
from viper.errors import ValidationError
from viper.optimizer.evaluate import Evaluator, Window
from viper.optimizer.objectives import score
from viper.optimizer.results import (
    ParamStability,
    TrialRecord,
    WalkForwardReport,
    WindowReport,
    rank,
)
from viper.optimizer.sampler import make_sampler
from viper.optimizer.space import CategoricalParam, SearchSpace
from viper.optimizer.spec import OptimizeSpec, WalkForwardSettings
from viper.optimizer.storage import StudyLock
from viper.optimizer.study import quiet_optuna, records, run_trials


def windows(bars: int, wf: WalkForwardSettings) -> list[tuple[Window, Window]]:
    """(in-sample, out-of-sample) bar windows; ValidationError when they do not fit."""
    k = wf.windows
    out = wf.out_bars or int(bars / (wf.ratio + k))
    size_in = wf.in_bars or round(wf.ratio * out)
    if out < 2 or size_in < 2 or size_in + k * out > bars:
        raise ValidationError(
            f"walk_forward: {k} windows of {size_in} in-sample + {out} out-of-sample bars "
            f"do not fit in {bars} bars",
            field="walk_forward",
        )
    found = []
    for i in range(k):
        start = 0 if wf.anchored else i * out
        split = size_in + i * out
        found.append(((start, split), (split, split + out)))
    return found


def _inner_grid(spec: OptimizeSpec, ev: Evaluator, window: Window) -> list[TrialRecord]:
    trials = []
    for number, values in enumerate(spec.space.grid()):
        figures = ev.run(ev.params(values), window)
        value, note = score(figures, spec.objective, spec.constraints)
        ok = math.isfinite(value)
        trials.append(
            TrialRecord(
                number=number,
                params=values,
                value=value if ok else None,
                state="complete" if ok else "invalid",
                figures=figures,
                note=note,
            )
        )
    return trials


def _inner_optuna(
    spec: OptimizeSpec, ev: Evaluator, window: Window, seed: int
) -> list[TrialRecord]:
    quiet_optuna()
    study = optuna.create_study(
        direction="maximize",
        sampler=make_sampler(spec.sampler, spec.space, spec.backtest.params, seed),
        pruner=optuna.pruners.NopPruner(),
    )
    for _ in range(spec.trials):
        study.enqueue_trial({}, skip_if_exists=False)
    inner = _no_chunks(spec)
    run_trials(study, inner, ev, StudyLock("", "wf"), window=window)
    return records(study)


def _no_chunks(spec: OptimizeSpec) -> OptimizeSpec:
    return msgspec.structs.replace(spec, chunks=1)


def use_grid(spec: OptimizeSpec) -> bool:
    """Whether in-sample search is exhaustive."""
    size = spec.space.size()
    inner = spec.walk_forward.inner
    if inner == "grid":
        return True
    return inner == "auto" and size is not None and size <= spec.max_grid


def run_window(
    spec: OptimizeSpec, ev: Evaluator, index: int, pair: tuple[Window, Window]
) -> WindowReport:
    """Optimize window `index` in-sample, then run its best out-of-sample."""
    is_w, oos_w = pair
    seed = (spec.seed or 0) + index
    trials = _inner_grid(spec, ev, is_w) if use_grid(spec) else _inner_optuna(spec, ev, is_w, seed)
    ranked = rank(trials)
    best = ranked[0] if ranked else None
    oos_value, oos_figures = None, None
    if best is not None:
        oos_figures = ev.run(ev.params(best.params), oos_w)
        value, _ = score(oos_figures, spec.objective, spec.constraints)
        oos_value = value if math.isfinite(value) else None
    ts, bar = ev.dataset.ts, ev.dataset.bar_ms
    return WindowReport(
        index=index,
        in_sample=_span(ts, is_w, bar),
        out_of_sample=_span(ts, oos_w, bar),
        in_bars=is_w[1] - is_w[0],
        out_bars=oos_w[1] - oos_w[0],
        trials=len(trials),
        best_params=best.params if best else None,
        in_value=best.value if best else None,
        out_value=oos_value,
        in_figures=best.figures if best else None,
        out_figures=oos_figures,
    )


def _span(ts: np.ndarray, window: Window, bar_ms: int) -> tuple[str, str]:
    first, last = (
        iso(ts[window[0] : window[0] + 1])[0],
        iso(ts[window[1] - 1 : window[1]] + bar_ms)[0],
    )
    return first, last


def stability(space: SearchSpace, reports: list[WindowReport]) -> dict[str, ParamStability]:
    """How far each parameter's best value moved across the windows."""
    found: dict[str, ParamStability] = {}
    chosen = [r.best_params for r in reports if r.best_params is not None]
    for name, p in space.params.items():
        values = [c[name] for c in chosen]
        changes = sum(1 for a, b in itertools.pairwise(values) if a != b)
        if not values:
            spread = 0.0
        elif isinstance(p, CategoricalParam):
            spread = 1.0 - Counter(map(repr, values)).most_common(1)[0][1] / len(values)
        else:
            width = float(p.high - p.low)
            spread = float(np.std(values)) / width if width > 0 else 0.0
        found[name] = ParamStability(values=values, spread=round(spread, 6), changes=changes)
    return found


def report(spec: OptimizeSpec, reports: list[WindowReport]) -> WalkForwardReport:
    """The walk-forward report of all windows, with the overfitting verdict."""
    reports = sorted(reports, key=lambda r: r.index)
    ins = [r.in_value for r in reports if r.in_value is not None]
    outs = [
        r.out_value if r.out_value is not None else 0.0 for r in reports if r.in_value is not None
    ]
    mean_in = float(np.mean(ins)) if ins else None
    mean_out = float(np.mean(outs)) if outs else None
    efficiency = mean_out / mean_in if mean_in and mean_out is not None and mean_in > 0 else None
    overfit, warning = _verdict(spec, mean_in, mean_out)
    return WalkForwardReport(
        windows=reports,
        anchored=spec.walk_forward.anchored,
        mean_in=mean_in,
        mean_out=mean_out,
        efficiency=efficiency,
        stability=stability(spec.space, reports),
        overfit=overfit,
        warning=warning,
    )


def _verdict(spec: OptimizeSpec, mean_in: float | None, mean_out: float | None) -> tuple[bool, str]:
    name, ratio = spec.objective, spec.overfit_ratio
    if mean_in is None:
        return True, "no window found a valid in-sample parameter set"
    if mean_in <= 0:
        return True, f"mean in-sample {name} {mean_in:.3f} is not positive: nothing to keep"
    if mean_out is None or mean_out < ratio * mean_in:
        out = "undefined" if mean_out is None else f"{mean_out:.3f}"
        return True, (
            f"overfitting: mean out-of-sample {name} {out} is below {ratio:.0%} of "
            f"in-sample {mean_in:.3f}"
        )
    return False, ""


def run_windows(
    spec: OptimizeSpec,
    ev: Evaluator,
    indices: list[int],
    progress: Callable[[int], None] | None = None,
) -> list[WindowReport]:
    """Windows `indices` of the spec's walk-forward, in order."""
    pairs = windows(ev.dataset.bars, spec.walk_forward)
    done: list[WindowReport] = []
    for i in indices:
        done.append(run_window(spec, ev, i, pairs[i]))
        if progress is not None:
            progress(len(done))
    return done


def best_params(reports: list[WindowReport]) -> dict[str, Any] | None:
    """The parameters to trade after a walk-forward: the last window's best."""
    chosen = [r.best_params for r in sorted(reports, key=lambda r: r.index) if r.best_params]
    return chosen[-1] if chosen else None
