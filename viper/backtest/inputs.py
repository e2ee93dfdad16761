"""Backtest inputs: candle frames to arrays, funding to events, decisions to the kernel's layout.

Frames are in the store schema (`timestamp` Int64 ms bar open, `open`..`volume` Float64),
sorted with unique timestamps. Symbols are aligned on the union of their timestamps; a
symbol without a bar at a time has NaN prices there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import polars as pl

from viper.backtest.layout import ENTRY_LONG, ENTRY_SHORT, EXIT_LONG, EXIT_SHORT
from viper.errors import DataError, ValidationError
from viper.strategies.base import Bars, Decisions

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


class Entries(NamedTuple):
    """Every entry decision: offsets per symbol, decision bar (grid index), distances.

    `distances` is (k + 1, 3): stop, take-profit, trail of each entry, then one all-NaN row.
    """

    offsets: np.ndarray
    bars: np.ndarray
    distances: np.ndarray


class SymbolDecisions(NamedTuple):
    """One symbol's decisions in compact form (symbol-local bar indices)."""

    flags: np.ndarray
    entry_bars: np.ndarray
    distances: np.ndarray
    funding_bars: np.ndarray
    funding_rates: np.ndarray


class FundingEvents(NamedTuple):
    """Funding events sorted by bar: grid bar, symbol index, rate."""

    bars: np.ndarray
    symbols: np.ndarray
    rates: np.ndarray


def columns(symbol: str, frame: pl.DataFrame) -> dict[str, np.ndarray]:
    """The candle columns of `frame` as numpy arrays (zero-copy where the types allow)."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{symbol}: candles lack column(s) {', '.join(missing)}", symbol=symbol)
    out = {
        "timestamp": frame.get_column("timestamp").cast(pl.Int64).to_numpy(),
        **{c: frame.get_column(c).cast(pl.Float64).to_numpy() for c in COLUMNS[1:]},
    }
    ts = out["timestamp"]
    if ts.shape[0] > 1 and not bool(np.all(ts[1:] > ts[:-1])):
        raise DataError(f"{symbol}: timestamps must be sorted and unique", symbol=symbol)
    return out


def bar_ms(series: Sequence[np.ndarray], timeframe_ms: int | None) -> int:
    """The bar length: the given one, else the smallest step between bars."""
    if timeframe_ms is not None:
        return timeframe_ms
    steps = [int(np.diff(ts).min()) for ts in series if ts.shape[0] > 1]
    if not steps:
        raise ValidationError(
            "timeframe: cannot infer it from single bars; pass it", field="timeframe"
        )
    return min(steps)


def funding_bars(
    ts: np.ndarray, tf_ms: int, frame: pl.DataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """(bar index, rate) of each funding event that falls inside one of the bars `ts`."""
    if frame is None or frame.height == 0 or ts.shape[0] == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    rate_col = "rate" if "rate" in frame.columns else "open"
    f_ts = frame.get_column("timestamp").cast(pl.Int64).to_numpy()
    rates = frame.get_column(rate_col).cast(pl.Float64).to_numpy()
    idx = np.searchsorted(ts, f_ts, side="right") - 1
    inside = (idx >= 0) & (f_ts < ts[np.maximum(idx, 0)] + tf_ms) & np.isfinite(rates)
    return idx[inside].astype(np.int64), rates[inside]


def funding_per_bar(n: int, bars: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """The funding rate of each bar (summed if a bar holds several events), NaN elsewhere."""
    out = np.full(n, np.nan)
    if bars.size:
        out[np.unique(bars)] = 0.0
        np.add.at(out, bars, rates)
    return out


def make_bars(cols: Mapping[str, np.ndarray], funding: np.ndarray) -> Bars:
    """A strategy's view of one symbol."""
    return Bars(
        timestamp=cols["timestamp"],
        open=cols["open"],
        high=cols["high"],
        low=cols["low"],
        close=cols["close"],
        volume=cols["volume"],
        funding=funding,
    )


def check_decisions(symbol: str, decisions: Decisions, n: int) -> None:
    """Every decision array has one value per bar."""
    for name, array in zip(Decisions._fields, decisions, strict=True):
        if np.shape(array) != (n,):
            raise ValidationError(
                f"{symbol}: strategy output {name} has shape {np.shape(array)}, expected ({n},)",
                field=name,
            )


def flags_of(decisions: Decisions) -> np.ndarray:
    """The four decision booleans packed into one int8 per bar."""
    flags = np.asarray(decisions.entry_long, dtype=np.int8) * np.int8(ENTRY_LONG)
    flags |= np.asarray(decisions.entry_short, dtype=np.int8) * np.int8(ENTRY_SHORT)
    flags |= np.asarray(decisions.exit_long, dtype=np.int8) * np.int8(EXIT_LONG)
    flags |= np.asarray(decisions.exit_short, dtype=np.int8) * np.int8(EXIT_SHORT)
    return flags


def compact(decisions: Decisions, funding: tuple[np.ndarray, np.ndarray]) -> SymbolDecisions:
    """Flags plus the distances of entry bars only: what the kernel needs, a fraction the size."""
    flags = flags_of(decisions)
    local, distances = entry_rows(decisions, flags)
    return SymbolDecisions(flags, local, distances, funding[0], funding[1])


def entry_rows(decisions: Decisions, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(local bar, (stop, take-profit, trail) distances) of each bar with an entry flag."""
    local = np.flatnonzero(flags & (ENTRY_LONG | ENTRY_SHORT))
    distances = np.empty((local.shape[0], 3))
    distances[:, 0] = np.asarray(decisions.stop_distance, dtype=np.float64)[local]
    distances[:, 1] = np.asarray(decisions.take_profit_distance, dtype=np.float64)[local]
    distances[:, 2] = np.asarray(decisions.trail_distance, dtype=np.float64)[local]
    return local, distances


def grid(series: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """The union of the symbols' timestamps and where each symbol's bars sit in it.

    A position of None means the symbol's bars are the whole grid (the common, aligned case).
    """
    first = series[0]
    if all(ts.shape == first.shape and np.array_equal(ts, first) for ts in series[1:]):
        return first, [None] * len(series)
    union = np.unique(np.concatenate(series))
    return union, [np.searchsorted(union, ts) for ts in series]


def place(values: Sequence[np.ndarray], where: list[np.ndarray | None], n: int) -> np.ndarray:
    """Per-symbol arrays laid on the grid as one read-only (symbols, bars) array, NaN elsewhere."""
    if len(values) == 1 and where[0] is None:
        out = np.ascontiguousarray(values[0])[None, :]
    elif all(w is None for w in where):
        out = np.stack(values)
    else:
        out = np.full((len(values), n), np.nan)
        for row, (v, w) in enumerate(zip(values, where, strict=True)):
            out[row, w] = v
    out.flags.writeable = False
    return out


def on_grid(local: np.ndarray, where: np.ndarray | None) -> np.ndarray:
    """Symbol-local bar indices as grid indices."""
    return local.astype(np.int64) if where is None else where[local].astype(np.int64)
