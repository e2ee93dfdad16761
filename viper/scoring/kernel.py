"""The VIPER score's one kernel: `score_step` updates a symbol's state by one bar.

Batch scoring runs `score_step` compiled by numba (`viper.jit`); incremental scoring runs the
same function as plain Python, so the live process needs no numba, and both compute
bit-identical numbers (tested). The state is a flat list or float64 array of constant size
per symbol: a small header (bar count, ring position, EMAs, ATR, previous close) and three
ring buffers of the last `n` volumes, highs and lows. Window sums and extremes are recomputed
from the rings every bar (n is small), so nothing drifts however long a symbol runs.
Formulas: docs/scoring.md.
"""

from __future__ import annotations

import math

import numpy as np

from viper.jit import kernel

State = np.ndarray | list[float]  # a list in plain Python (faster to index), an array in numba

# State header slots; the rings (volume, high, low; n slots each) follow the header.
S_COUNT, S_POS, S_EMA, S_EMA_HTF, S_ATR, S_PREV_CLOSE = 0, 1, 2, 3, 4, 5
HEADER = 8

# Parameter slots: lookback n, higher-timeframe factor, the four weights.
P_LOOKBACK, P_HTF, P_W_VOLUME, P_W_PRICE, P_W_RANGE, P_W_EXTERNAL = 0, 1, 2, 3, 4, 5
N_PARAMS = 6

# Slots of the tuple `score_step` returns (and rows of the batch output).
O_SCORE, O_DIRECTION, O_VOLUME, O_PRICE, O_RANGE, O_EXTERNAL, O_ATR, O_EMA = range(8)
N_OUT = 8

LN3 = math.log(3.0)
FUNDING_FULL = 0.0005  # a funding rate of 0.05% per period counts as fully crowded


def state_size(lookback: int) -> int:
    """Floats in one symbol's state for lookback `lookback`."""
    return HEADER + 3 * lookback


def new_state(lookback: int) -> np.ndarray:
    """A fresh state: no bar seen yet."""
    return np.zeros(state_size(lookback), dtype=np.float64)


@kernel(error_model="numpy")
def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else (hi if x > hi else x)


@kernel(error_model="numpy")
def _advance(state: State, h: float, lo: float, c: float, v: float, n: int, htf: float) -> float:
    """Push the bar into the rings and update EMAs and ATR; returns the bar count."""
    pos = int(state[S_POS])
    state[HEADER + pos] = v
    state[HEADER + n + pos] = h
    state[HEADER + 2 * n + pos] = lo
    state[S_POS] = (pos + 1) % n
    count = state[S_COUNT] + 1.0
    state[S_COUNT] = count
    if count == 1.0:  # seeds: EMAs start at the first close, ATR at the first bar's range
        state[S_EMA] = c
        state[S_EMA_HTF] = c
        state[S_ATR] = h - lo
    else:
        prev = state[S_PREV_CLOSE]
        tr = max(h - lo, abs(h - prev), abs(lo - prev))
        state[S_EMA] = state[S_EMA] + (2.0 / (n + 1.0)) * (c - state[S_EMA])
        state[S_EMA_HTF] = state[S_EMA_HTF] + (2.0 / (n * htf + 1.0)) * (c - state[S_EMA_HTF])
        state[S_ATR] = (state[S_ATR] * (n - 1.0) + tr) / n
    state[S_PREV_CLOSE] = c
    return count


@kernel(error_model="numpy")
def _window(state: State, n: int) -> tuple[float, float, float]:
    """(sum of volumes, highest high, lowest low) over the ring of the last n bars."""
    vsum = 0.0
    hh = -np.inf
    ll = np.inf
    for i in range(n):
        vsum += state[HEADER + i]
        hi = state[HEADER + n + i]
        lo = state[HEADER + 2 * n + i]
        if hi > hh:
            hh = hi
        if lo < ll:
            ll = lo
    return vsum, hh, ll


@kernel(error_model="numpy")
def _volume_component(v: float, vsum: float, n: int) -> float:
    """50 + 50 * ln(rv) / ln(3) clipped to [0, 100]; rv = v / SMA(v, n); 50 when SMA is 0."""
    sma = vsum / n
    if not sma > 0.0:
        return 50.0
    rv = v / sma
    if rv <= 0.0:
        return 0.0
    return _clip(50.0 + 50.0 * math.log(rv) / LN3, 0.0, 100.0)


@kernel(error_model="numpy")
def _external_component(
    c: float, ema_htf: float, atr: float, direction: float, funding: float, imbalance: float
) -> float:
    """Mean of higher-timeframe trend, funding and order-book agreement (those available)."""
    trend = _clip((c - ema_htf) / (atr * 2.0), -1.0, 1.0) if atr > 0.0 else 0.0
    total = 50.0 + 50.0 * direction * trend
    parts = 1.0
    if not math.isnan(funding):
        total += 50.0 - 50.0 * direction * _clip(funding / FUNDING_FULL, -1.0, 1.0)
        parts += 1.0
    if not math.isnan(imbalance):
        total += 50.0 + 50.0 * direction * _clip(imbalance, -1.0, 1.0)
        parts += 1.0
    return total / parts


@kernel(error_model="numpy")
def score_step(
    state: State,
    o: float,
    h: float,
    lo: float,
    c: float,
    v: float,
    funding: float,
    imbalance: float,
    params: State,
) -> tuple[float, float, float, float, float, float, float, float]:
    """Update `state` with one bar; returns (score, direction, volume, price, range, external,
    atr, ema).

    `funding` and `imbalance` are NaN when not available. During warm-up (fewer than n bars)
    the score and components are NaN and the direction 0; ATR and EMA are always current.
    """
    n = int(params[P_LOOKBACK])
    if len(state) != HEADER + 3 * n:  # numba does not bounds-check: refuse a wrong state
        raise ValueError("score_step: state size does not match the lookback")
    count = _advance(state, h, lo, c, v, n, params[P_HTF])
    ema = state[S_EMA]
    atr = state[S_ATR]
    if count < n:
        return np.nan, 0.0, np.nan, np.nan, np.nan, np.nan, atr, ema
    vsum, hh, ll = _window(state, n)
    direction = 1.0 if c > ema else (-1.0 if c < ema else 0.0)
    volume = _volume_component(v, vsum, n)
    price = 100.0 * min(abs(c - ema) / atr / 2.0, 1.0) if atr > 0.0 else 0.0
    width = hh - ll
    if width > 0.0 and direction != 0.0:
        p = (c - ll) / width
        rng = 100.0 * p if direction > 0.0 else 100.0 * (1.0 - p)
    else:
        rng = 50.0
    external = _external_component(c, state[S_EMA_HTF], atr, direction, funding, imbalance)
    if direction == 0.0:
        score = 0.0
    else:
        wv, wp = params[P_W_VOLUME], params[P_W_PRICE]
        wr, we = params[P_W_RANGE], params[P_W_EXTERNAL]
        score = (wv * volume + wp * price + wr * rng + we * external) / (wv + wp + wr + we)
    return score, direction, volume, price, rng, external, atr, ema
