"""Batch VIPER scoring: one symbol's history, many symbols at once, or a set of frames.

Every path loops the kernel's `score_step`, compiled by numba, so its numbers are
bit-identical to the incremental scorer's (the same function as plain Python) on the same
candles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec
import numpy as np
import polars as pl
from numba import njit, prange
from numpy.typing import ArrayLike

from viper.errors import ValidationError
from viper.jit import compile_namespace
from viper.scoring import kernel
from viper.scoring.params import ScoreParams

OHLCV = ("open", "high", "low", "close", "volume")
_NONE = np.empty(0, dtype=np.float64)  # "not available" for funding / imbalance
Array = np.ndarray
compile_namespace(globals())  # `kernel.score_step` below is the compiled one


@njit(cache=True, error_model="numpy")
def _score_segment(
    o: Array,
    h: Array,
    lo: Array,
    c: Array,
    v: Array,
    f: Array,
    im: Array,
    start: int,
    stop: int,
    params: Array,
    out: Array,
) -> None:
    """Score rows start..stop-1 as one symbol's history, from a fresh state.

    `f` and `im` may be empty (not available: NaN for every bar); `out` is (N_OUT, rows).
    """
    n = int(params[kernel.P_LOOKBACK])
    state = np.zeros(kernel.HEADER + 3 * n, dtype=np.float64)
    has_f = f.size > 0
    has_im = im.size > 0
    for i in range(start, stop):
        fi = f[i] if has_f else np.nan
        imi = im[i] if has_im else np.nan
        r = kernel.score_step(state, o[i], h[i], lo[i], c[i], v[i], fi, imi, params)
        for k in range(kernel.N_OUT):
            out[k, i] = r[k]


@njit(cache=True, error_model="numpy")
def score_segments(
    o: Array,
    h: Array,
    lo: Array,
    c: Array,
    v: Array,
    f: Array,
    im: Array,
    offsets: Array,
    params: Array,
    out: Array,
) -> None:
    """Score many symbols laid end to end; symbol k owns rows offsets[k]..offsets[k+1]-1."""
    for k in range(len(offsets) - 1):
        _score_segment(o, h, lo, c, v, f, im, offsets[k], offsets[k + 1], params, out)


@njit(cache=True, parallel=True, error_model="numpy")
def score_segments_parallel(
    o: Array,
    h: Array,
    lo: Array,
    c: Array,
    v: Array,
    f: Array,
    im: Array,
    offsets: Array,
    params: Array,
    out: Array,
) -> None:
    """`score_segments` with symbols spread over threads (each symbol stays sequential)."""
    for k in prange(len(offsets) - 1):
        _score_segment(o, h, lo, c, v, f, im, offsets[k], offsets[k + 1], params, out)


class ScoreArrays(msgspec.Struct, frozen=True, kw_only=True):
    """Scores, directions (+1 long, -1 short, 0 none) and components, one entry per bar.

    Warm-up bars (fewer than `lookback` seen) have NaN score and components and direction 0.
    `atr` and `ema` are the score's ATR(n) and EMA(close, n) at each bar. Arrays are 1-D for
    one symbol and (symbols, bars) for `score_many`.
    """

    score: np.ndarray
    direction: np.ndarray
    volume: np.ndarray
    price: np.ndarray
    range: np.ndarray
    external: np.ndarray
    atr: np.ndarray
    ema: np.ndarray

    def signals(self, threshold: float) -> np.ndarray:
        """Where the score is at or above `threshold` with a direction (NaN never is)."""
        with np.errstate(invalid="ignore"):
            return np.asarray((self.score >= threshold) & (self.direction != 0))

    def to_frame(self) -> pl.DataFrame:
        """A polars frame with one column per array (1-D results only)."""
        return pl.DataFrame({name: getattr(self, name) for name in self.__struct_fields__})


def _column(name: str, values: ArrayLike, length: int | None = None) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValidationError(f"{name}: expected a 1-D array, got {array.ndim}-D", field=name)
    if length is not None and array.shape[0] != length:
        raise ValidationError(
            f"{name}: has {array.shape[0]} values, expected {length} (one per bar)", field=name
        )
    return array


def _optional(name: str, values: ArrayLike | None, length: int) -> np.ndarray:
    return _NONE if values is None else _column(name, values, length)


def _run(
    columns: Sequence[np.ndarray],
    offsets: np.ndarray,
    params: ScoreParams,
    parallel: bool,
) -> np.ndarray:
    """Run the kernel over laid-end-to-end symbols; returns the (N_OUT, rows) output."""
    out = np.empty((kernel.N_OUT, columns[0].shape[0]), dtype=np.float64)
    o, h, lo, c, v, f, im = columns
    run = score_segments_parallel if parallel else score_segments
    run(o, h, lo, c, v, f, im, offsets, params.as_array(), out)
    return out


def _arrays(out: np.ndarray, shape: tuple[int, ...]) -> ScoreArrays:
    return ScoreArrays(
        score=out[kernel.O_SCORE].reshape(shape),
        direction=out[kernel.O_DIRECTION].astype(np.int8).reshape(shape),
        volume=out[kernel.O_VOLUME].reshape(shape),
        price=out[kernel.O_PRICE].reshape(shape),
        range=out[kernel.O_RANGE].reshape(shape),
        external=out[kernel.O_EXTERNAL].reshape(shape),
        atr=out[kernel.O_ATR].reshape(shape),
        ema=out[kernel.O_EMA].reshape(shape),
    )


def score_batch(
    open: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    volume: ArrayLike,
    *,
    funding: ArrayLike | None = None,
    imbalance: ArrayLike | None = None,
    params: ScoreParams | None = None,
) -> ScoreArrays:
    """Score one symbol's bars, oldest first; `funding` / `imbalance` NaN where not available."""
    params = params or ScoreParams()
    c = _column("close", close)
    rows = c.shape[0]
    columns = [
        _column("open", open, rows),
        _column("high", high, rows),
        _column("low", low, rows),
        c,
        _column("volume", volume, rows),
        _optional("funding", funding, rows),
        _optional("imbalance", imbalance, rows),
    ]
    offsets = np.array([0, rows], dtype=np.int64)
    return _arrays(_run(columns, offsets, params, parallel=False), (rows,))


def _matrix(name: str, values: ArrayLike, shape: tuple[int, int] | None) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValidationError(f"{name}: expected (symbols, bars), got {array.ndim}-D", field=name)
    if shape is not None and array.shape != shape:
        raise ValidationError(f"{name}: shape {array.shape}, expected {shape}", field=name)
    return array.reshape(-1)


def score_many(
    open: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    volume: ArrayLike,
    *,
    funding: ArrayLike | None = None,
    imbalance: ArrayLike | None = None,
    params: ScoreParams | None = None,
    parallel: bool = False,
) -> ScoreArrays:
    """Score many symbols of equal length at once: every input is (symbols, bars).

    Each row is scored as its own symbol, exactly as `score_batch` would; `parallel` spreads
    the rows over numba's threads.
    """
    params = params or ScoreParams()
    shape2d = np.shape(close)
    if len(shape2d) != 2:
        raise ValidationError("close: expected (symbols, bars)", field="close")
    shape = (int(shape2d[0]), int(shape2d[1]))
    columns = [
        _matrix("open", open, shape),
        _matrix("high", high, shape),
        _matrix("low", low, shape),
        _matrix("close", close, shape),
        _matrix("volume", volume, shape),
        _NONE if funding is None else _matrix("funding", funding, shape),
        _NONE if imbalance is None else _matrix("imbalance", imbalance, shape),
    ]
    offsets = np.arange(shape[0] + 1, dtype=np.int64) * shape[1]
    return _arrays(_run(columns, offsets, params, parallel), shape)


def _frame_column(frame: pl.DataFrame, key: str, name: str, required: bool) -> np.ndarray:
    if name not in frame.columns:
        if required:
            raise ValidationError(f"{key}: frame has no {name!r} column", field=name)
        return np.full(frame.height, np.nan)
    return frame.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()


def score_frames(
    frames: Mapping[str, pl.DataFrame],
    params: ScoreParams | None = None,
    *,
    parallel: bool = False,
) -> dict[str, ScoreArrays]:
    """Score frames of any lengths (columns open/high/low/close/volume, optional funding and
    imbalance; null = not available) in one kernel call; results keyed like `frames`."""
    params = params or ScoreParams()
    keys = list(frames)
    lengths = [frames[k].height for k in keys]
    offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    names = (*OHLCV, "funding", "imbalance")
    parts = [[_frame_column(frames[k], k, name, name in OHLCV) for k in keys] for name in names]
    columns = [np.concatenate(p) if p else _NONE.copy() for p in parts]
    for slot in (5, 6):  # drop an optional column that no frame has
        if np.isnan(columns[slot]).all():
            columns[slot] = _NONE
    out = _run(columns, offsets, params, parallel)
    return {
        k: _arrays(np.ascontiguousarray(out[:, offsets[i] : offsets[i + 1]]), (lengths[i],))
        for i, k in enumerate(keys)
    }


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel entry point, on a few bars."""
    bars = np.linspace(1.0, 2.0, 4)
    params = ScoreParams(lookback=2)
    score_batch(bars, bars + 0.1, bars - 0.1, bars, bars, params=params)
    state = kernel.new_state(params.lookback)
    kernel.score_step(state, 1.0, 1.1, 0.9, 1.0, 1.0, np.nan, np.nan, params.as_array())
