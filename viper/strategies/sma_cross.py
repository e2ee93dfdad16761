"""`sma_cross`, the reference strategy: trade the crosses of a fast and a slow SMA of the close.

Long when the fast SMA crosses above the slow one, short when it crosses below (if
`allow_short`), exit on the opposite cross (an exact tie is no side: the cross is the bar
where the side differs from the last non-tied one); optional stop-loss / take-profit at `sl_pct` /
`tp_pct` of the decision bar's close (the best estimate of the next open's entry price that
uses no future data). One step function serves the batch (compiled by numba) and the live form
(plain Python), so both give identical decisions.
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
from msgspec import Meta

from viper.backtest.layout import ENTRY_LONG, ENTRY_SHORT, EXIT_LONG, EXIT_SHORT
from viper.domain import Candle
from viper.errors import ValidationError
from viper.jit import compiled, kernel
from viper.strategies.base import (
    Bars,
    Decision,
    Decisions,
    Packed,
    Strategy,
    StrategyParams,
)

_COUNT, _FAST_SUM, _SLOW_SUM, _LAST_SIGN, _FAST_ERR, _SLOW_ERR, _SLOT, _RING = range(8)

Window = Annotated[int, Meta(ge=1, le=100_000)]
Pct = Annotated[float, Meta(ge=0.0, lt=1.0)]


class SmaCrossParams(StrategyParams, frozen=True):
    """Fast and slow SMA lengths, shorts on or off, stop-loss / take-profit fractions (0 = off)."""

    fast: Window = 10
    slow: Window = 50
    allow_short: bool = True
    sl_pct: Pct = 0.0
    tp_pct: Pct = 0.0

    def __post_init__(self) -> None:
        if self.fast >= self.slow:
            raise ValidationError(
                f"fast: must be shorter than slow ({self.fast} >= {self.slow})", field="fast"
            )


def new_state(slow: int) -> np.ndarray:
    """A fresh step state: count, two running sums and their rounding errors, last cross
    side, ring of the last `slow` closes."""
    return np.zeros(_RING + slow, dtype=np.float64)


@kernel(inline="always")
def _add(state, total, error, x):  # type: ignore[no-untyped-def]
    """Neumaier-compensated `state[total] += x`: running sums do not drift over long series."""
    s = state[total]
    t = s + x
    state[error] += (s - t) + x if abs(s) >= abs(x) else (x - t) + s
    state[total] = t


@kernel(inline="always")
def sma_cross_step(state, close, fast, slow):  # type: ignore[no-untyped-def]
    """Feed one close; returns (cross: +1 up, -1 down, 0 none, fast SMA, slow SMA)."""
    n, slot = int(state[_COUNT]), int(state[_SLOT])  # slot = n % slow, kept to avoid a division
    if n >= fast:
        old = slot - fast
        _add(state, _FAST_SUM, _FAST_ERR, -state[_RING + (old + slow if old < 0 else old)])
    if n >= slow:
        _add(state, _SLOW_SUM, _SLOW_ERR, -state[_RING + slot])
    state[_RING + slot] = close
    _add(state, _FAST_SUM, _FAST_ERR, close)
    _add(state, _SLOW_SUM, _SLOW_ERR, close)
    state[_COUNT] = n + 1
    state[_SLOT] = slot + 1 if slot + 1 < slow else 0
    if n + 1 < slow:
        return 0, np.nan, np.nan
    fast_sma = (state[_FAST_SUM] + state[_FAST_ERR]) / fast
    slow_sma = (state[_SLOW_SUM] + state[_SLOW_ERR]) / slow
    sign = 1 if fast_sma > slow_sma else (-1 if fast_sma < slow_sma else 0)
    cross = 0
    if sign != 0:
        if state[_LAST_SIGN] != 0 and sign != state[_LAST_SIGN]:
            cross = sign
        state[_LAST_SIGN] = sign
    return cross, fast_sma, slow_sma


@kernel()
def _batch(close, fast, slow, allow_short, sl_pct, tp_pct, flags, stop, take):  # type: ignore[no-untyped-def]
    """All bars in one pass: flags (4, n) = entry long/short, exit long/short; distances."""
    state = np.zeros(_RING + slow)
    for i in range(close.shape[0]):
        cross = sma_cross_step(state, close[i], fast, slow)[0]
        flags[0, i], flags[3, i] = cross == 1, cross == 1
        flags[1, i], flags[2, i] = cross == -1 and allow_short, cross == -1
        stop[i] = close[i] * sl_pct if sl_pct > 0.0 else np.nan
        take[i] = close[i] * tp_pct if tp_pct > 0.0 else np.nan


@kernel()
def compensated_sma(close, window, out):  # type: ignore[no-untyped-def]
    """SMA of `window` closes by `sma_cross_step`'s compensated running sum (NaN before)."""
    total, error = 0.0, 0.0
    for i in range(close.shape[0]):
        if i >= window:
            x = -close[i - window]
            t = total + x
            error += (total - t) + x if abs(total) >= abs(x) else (x - t) + total
            total = t
        x = close[i]
        t = total + x
        error += (total - t) + x if abs(total) >= abs(x) else (x - t) + total
        total = t
        out[i] = (total + error) / window if i + 1 >= window else np.nan


@kernel()
def cross_flags(fast, slow, slow_window, allow_short, flags):  # type: ignore[no-untyped-def]
    """`sma_cross`'s decisions as packed flags; returns the number of entry bars."""
    last, entries = 0, 0
    for i in range(fast.shape[0]):
        f = 0
        if i + 1 >= slow_window:
            a, b = fast[i], slow[i]
            sign = 1 if a > b else (-1 if a < b else 0)
            if sign != 0:
                if last != 0 and sign != last:
                    if sign == 1:
                        f = ENTRY_LONG | EXIT_SHORT
                    else:
                        f = EXIT_LONG | (ENTRY_SHORT if allow_short else 0)
                last = sign
        flags[i] = f
        if f & (ENTRY_LONG | ENTRY_SHORT):
            entries += 1
    return entries


def packed(close: np.ndarray, fast: np.ndarray, slow: np.ndarray, p: SmaCrossParams) -> Packed:
    """`decide` from the two SMAs, packed as the engine reads it: flags per bar, the entry
    bars, their (stop, take-profit, trail) distances. The same values, without the seven
    per-bar arrays."""
    flags = np.empty(close.shape[0], dtype=np.int8)
    compiled(cross_flags)(fast, slow, p.slow, p.allow_short, flags)
    local = np.flatnonzero(flags & (ENTRY_LONG | ENTRY_SHORT))
    distances = np.full((local.shape[0], 3), np.nan)
    if p.sl_pct > 0.0:
        distances[:, 0] = close[local] * p.sl_pct
    if p.tp_pct > 0.0:
        distances[:, 1] = close[local] * p.tp_pct
    return flags, local, distances


class SmaCross(Strategy[SmaCrossParams]):
    """Trade the crosses of two simple moving averages of the close."""

    name = "sma_cross"
    description = "long/short on fast/slow SMA crosses, optional fixed stop-loss / take-profit"
    Params = SmaCrossParams

    def warmup(self, params: SmaCrossParams) -> int:
        return params.slow

    def decide(self, bars: Bars, params: SmaCrossParams) -> Decisions:
        close = np.ascontiguousarray(bars.close, dtype=np.float64)
        n, p = close.shape[0], params
        flags = np.empty((4, n), dtype=np.bool_)
        stop, take = np.empty(n), np.empty(n)
        batch = compiled(_batch)
        batch(close, p.fast, p.slow, p.allow_short, p.sl_pct, p.tp_pct, flags, stop, take)
        return Decisions(
            entry_long=flags[0],
            entry_short=flags[1],
            exit_long=flags[2],
            exit_short=flags[3],
            stop_distance=stop,
            take_profit_distance=take,
            trail_distance=np.full(n, np.nan),
        )

    def packed(self, bars: Bars, params: SmaCrossParams) -> Packed:
        """`decide`, packed for the engine (see `packed`), from two compensated SMA passes."""
        close = np.ascontiguousarray(bars.close, dtype=np.float64)
        sma = compiled(compensated_sma)
        fast, slow = np.empty(close.shape[0]), np.empty(close.shape[0])
        sma(close, params.fast, fast)
        sma(close, params.slow, slow)
        return packed(close, fast, slow, params)

    def incremental(self, params: SmaCrossParams) -> SmaCrossLive:
        return SmaCrossLive(params)


class SmaCrossLive:
    """`sma_cross` for one symbol, one closed candle at a time (state: `slow` closes)."""

    def __init__(self, params: SmaCrossParams) -> None:
        self.params = params
        self._state = new_state(params.slow)

    def update(self, candle: Candle, funding: float = math.nan) -> Decision:
        """The decision at this candle's close."""
        p = self.params
        cross, _, _ = sma_cross_step(self._state, float(candle.close), p.fast, p.slow)
        return Decision(
            ts_ms=candle.ts_ms,
            entry_long=cross == 1,
            entry_short=cross == -1 and p.allow_short,
            exit_long=cross == -1,
            exit_short=cross == 1,
            stop_distance=candle.close * p.sl_pct if p.sl_pct > 0.0 else math.nan,
            take_profit_distance=candle.close * p.tp_pct if p.tp_pct > 0.0 else math.nan,
        )
