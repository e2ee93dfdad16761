"""Decisions of many parameter sets on the same bars, sharing what they have in common.

`signals_for(strategy, bars)` gives one symbol's decision source: `decide(params)` returns the
compact decisions the engine reads (int8 flags per bar, entry bars, their distances).
* `sma_cross`: each distinct SMA length is computed once (the strategy's own compensated running
  sums, so the values are bitwise those of `SmaCross.decide`); a parameter set then costs one
  numba pass that marks the crosses.
* `viper`: the score arrays are computed once per score setting (lookback, weights, htf
  factor); thresholds and ATR multiples only re-read them.
* any other strategy: `strategy.decide` per parameter set.
A parity test holds each fast path to the strategy's own `decide`.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np

from viper.backtest import inputs
from viper.jit import compiled
from viper.scoring import ScoreArrays, score_batch
from viper.strategies.base import Bars, Decisions, Strategy
from viper.strategies.sma_cross import compensated_sma, packed
from viper.strategies.viper import carry_forward

_NO_FUNDING = (np.empty(0, np.int64), np.empty(0, np.float64))


class Compact(NamedTuple):
    """One symbol's decisions as the engine reads them (symbol-local bar indices)."""

    flags: np.ndarray
    entry_bars: np.ndarray
    distances: np.ndarray


class SignalSource(Protocol):
    """Decisions of one symbol for any parameter set of one strategy."""

    def decide(self, params: Any) -> Compact: ...


def _compact(decisions: Decisions) -> Compact:
    packed = inputs.compact(decisions, _NO_FUNDING)
    return Compact(packed.flags, packed.entry_bars, packed.distances)


class Generic:
    """Any strategy: its own `decide` per parameter set."""

    def __init__(self, strategy: Strategy[Any], bars: Bars) -> None:
        self._strategy, self._bars = strategy, bars

    def decide(self, params: Any) -> Compact:
        return _compact(self._strategy.decide(self._bars, params))


class SmaCrossSignals:
    """`sma_cross` with each SMA length computed once."""

    def __init__(self, bars: Bars) -> None:
        self._close = np.ascontiguousarray(bars.close, dtype=np.float64)
        self._smas: dict[int, np.ndarray] = {}

    def sma(self, window: int) -> np.ndarray:
        """The SMA of `window` closes (computed on first use)."""
        found = self._smas.get(window)
        if found is None:
            found = np.empty(self._close.shape[0])
            compiled(compensated_sma)(self._close, window, found)
            self._smas[window] = found
        return found

    def decide(self, params: Any) -> Compact:
        p = params
        return Compact(*packed(self._close, self.sma(p.fast), self.sma(p.slow), p))


class ViperSignals:
    """`viper` with the score computed once per score setting."""

    def __init__(self, bars: Bars) -> None:
        self._bars = bars
        self._funding = carry_forward(np.asarray(bars.funding, dtype=np.float64))
        self._scores: dict[tuple[Any, ...], ScoreArrays] = {}

    def scores(self, params: Any) -> ScoreArrays:
        sp = params.score_params()
        key: tuple[Any, ...] = (sp.lookback, sp.weight_volume, sp.weight_price, sp.weight_range)
        key += (sp.weight_external, sp.htf_factor)  # the score ignores the threshold
        found = self._scores.get(key)
        if found is None:
            b = self._bars
            found = score_batch(
                b.open, b.high, b.low, b.close, b.volume, funding=self._funding, params=sp
            )
            self._scores[key] = found
        return found

    def decide(self, params: Any) -> Compact:
        p, s = params, self.scores(params)
        # the same expressions as `Viper.decide`
        with np.errstate(invalid="ignore"):
            signal = s.score >= p.threshold
            decayed = s.score < p.exit_threshold
        up, down = signal & (s.direction == 1), signal & (s.direction == -1)
        n = s.atr.shape[0]
        return _compact(
            Decisions(
                entry_long=up,
                entry_short=down & p.allow_short,
                exit_long=decayed | down,
                exit_short=decayed | up,
                stop_distance=_distance(s.atr, p.sl_atr, n),
                take_profit_distance=_distance(s.atr, p.tp_atr, n),
                trail_distance=_distance(s.atr, p.trailing_atr, n),
            )
        )


def _distance(atr: np.ndarray, multiple: float, n: int) -> np.ndarray:
    return atr * multiple if multiple > 0.0 else np.full(n, np.nan)


def signals_for(strategy: Strategy[Any], bars: Bars) -> SignalSource:
    """The fastest decision source for `strategy` on one symbol's bars."""
    if strategy.name == "sma_cross":
        return SmaCrossSignals(bars)
    if strategy.name == "viper":
        return ViperSignals(bars)
    return Generic(strategy, bars)
