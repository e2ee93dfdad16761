"""Evaluate parameter sets on candles loaded once: the optimizer's inner loop.

`Dataset` holds the candles of a request laid on one bar grid (as `run_backtest` lays them);
`Evaluator.run(params, window, chunks)` lays one parameter set's decisions on that grid and
runs the backtest engine's kernel (`viper.backtest.portfolio.simulate`, no trade list) on a
bar window, returning the headline `Figures`. Decisions come from `signals` and are computed
on the whole history, so a window's first bars see their past and nothing after them.

With `chunks > 1` the window is simulated in consecutive pieces, each starting with the equity
the previous one ended with (positions are closed at each boundary); `on_chunk(k, figures)`
sees the figures of pieces 0..k, which is what a pruner judges a trial by.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import msgspec
import numpy as np
import polars as pl

from viper.backtest import inputs, metrics
from viper.backtest.layout import (
    A_EXPOSED_BARS,
    A_MAX_DD,
    A_RET_DOWN2,
    A_RET_M2,
    A_RET_MEAN,
    A_RET_N,
)
from viper.backtest.portfolio import BacktestSettings, Outputs, Prepared, simulate
from viper.errors import ValidationError
from viper.optimizer.objectives import Figures
from viper.optimizer.signals import Compact, SignalSource, signals_for
from viper.strategies.base import Strategy
from viper.timeframes import timeframe_ms

Window = tuple[int, int]
OnChunk = Callable[[int, Figures], None]
YEAR_DAYS_MS = 365.25 * 86_400_000


class Dataset:
    """Candles of several symbols on one bar grid, with their funding events."""

    def __init__(
        self,
        frames: Mapping[str, pl.DataFrame],
        funding: Mapping[str, pl.DataFrame] | None = None,
        timeframe: str | None = None,
    ) -> None:
        if not frames:
            raise ValidationError("symbols: at least one symbol is needed", field="symbols")
        tf = None if timeframe is None else timeframe_ms(timeframe)
        cols = [inputs.columns(s, f) for s, f in frames.items()]
        self.bar_ms = inputs.bar_ms([c["timestamp"] for c in cols], tf)
        self.symbols = list(frames)
        self.ts, self.where = inputs.grid([c["timestamp"] for c in cols])
        n = self.bars = int(self.ts.shape[0])
        self.prices = tuple(
            inputs.place([c[k] for c in cols], self.where, n) for k in inputs.COLUMNS[1:5]
        )
        self.symbol_bars = []
        f_bars, f_syms, f_rates = [], [], []
        for s, (symbol, c) in enumerate(zip(frames, cols, strict=True)):
            events = inputs.funding_bars(c["timestamp"], self.bar_ms, (funding or {}).get(symbol))
            m = c["timestamp"].shape[0]
            self.symbol_bars.append(inputs.make_bars(c, inputs.funding_per_bar(m, *events)))
            f_bars.append(inputs.on_grid(events[0], self.where[s]))
            f_syms.append(np.full(events[0].shape[0], s, dtype=np.int64))
            f_rates.append(events[1])
        order = np.argsort(np.concatenate(f_bars), kind="stable")
        self.funding = inputs.FundingEvents(
            np.concatenate(f_bars)[order],
            np.concatenate(f_syms)[order],
            np.concatenate(f_rates)[order],
        )

    def window_of(self, start_ms: int, end_ms: int) -> Window:
        """Grid bars with start_ms <= timestamp < end_ms."""
        a = int(np.searchsorted(self.ts, start_ms, side="left"))
        return a, int(np.searchsorted(self.ts, end_ms, side="left"))


class _Slice(NamedTuple):
    """The grid's prices and funding events of one bar window, re-based to start at 0."""

    ts: np.ndarray
    prices: tuple[np.ndarray, ...]
    funding: inputs.FundingEvents


def _readonly(array: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(array)  # a view when the window is already contiguous
    out.flags.writeable = False
    return out


class Evaluator:
    """Runs parameter sets of one strategy on a `Dataset` with fixed settings."""

    def __init__(
        self,
        dataset: Dataset,
        strategy: Strategy[Any],
        settings: BacktestSettings,
        base: Mapping[str, Any] | None = None,
    ) -> None:
        self.dataset, self.strategy, self.settings = dataset, strategy, settings
        self.base = dict(base or {})
        self._sources: list[SignalSource] = [
            signals_for(strategy, bars) for bars in dataset.symbol_bars
        ]
        self._slices: dict[Window, _Slice] = {}

    def params(self, values: Mapping[str, Any]) -> Any:
        """The strategy's validated parameters: the base ones with `values` over them."""
        return self.strategy.params({**self.base, **values})

    def _slice(self, window: Window) -> _Slice:
        found = self._slices.get(window)
        if found is not None:
            return found
        a, b = window
        d = self.dataset
        if (a, b) == (0, d.bars):
            found = _Slice(d.ts, d.prices, d.funding)
        else:
            f = d.funding
            keep = (f.bars >= a) & (f.bars < b)
            found = _Slice(
                d.ts[a:b],
                tuple(_readonly(p[:, a:b]) for p in d.prices),
                inputs.FundingEvents(f.bars[keep] - a, f.symbols[keep], f.rates[keep]),
            )
        self._slices[window] = found
        return found

    def layout(self, params: Any) -> tuple[np.ndarray, list[Compact]]:
        """Decisions of every symbol, and their flags laid on the grid."""
        d = self.dataset
        decided = [source.decide(params) for source in self._sources]
        flags = np.zeros((len(decided), d.bars), dtype=np.int8)
        for s, (c, w) in enumerate(zip(decided, d.where, strict=True)):
            flags[s, slice(None) if w is None else w] = c.flags
        return flags, decided

    def _prepared(self, flags: np.ndarray, decided: list[Compact], window: Window) -> Prepared:
        a, b = window
        piece = self._slice(window)
        offsets, e_bars, e_dist = [0], [], []
        for c, w in zip(decided, self.dataset.where, strict=True):
            grid_bars = inputs.on_grid(c.entry_bars, w)
            keep = (grid_bars >= a) & (grid_bars < b)
            e_bars.append(grid_bars[keep] - a)
            e_dist.append(c.distances[keep])
            offsets.append(offsets[-1] + int(keep.sum()))
        return Prepared(
            symbols=self.dataset.symbols,
            ts=piece.ts,
            prices=piece.prices,  # type: ignore[arg-type]
            flags=np.ascontiguousarray(flags[:, a:b]),
            entries=inputs.Entries(
                np.asarray(offsets, dtype=np.int64),
                np.concatenate(e_bars),
                np.concatenate([*e_dist, np.full((1, 3), np.nan)]),
            ),
            funding=piece.funding,
            bar_ms=self.dataset.bar_ms,
            fingerprint=[],
        )

    def run(
        self,
        params: Any,
        window: Window | None = None,
        chunks: int = 1,
        on_chunk: OnChunk | None = None,
    ) -> Figures:
        """The figures of `params` (validated strategy parameters) on `window` (all bars)."""
        a, b = window or (0, self.dataset.bars)
        if b <= a:
            raise ValidationError("window: no bars in it", field="window")
        flags, decided = self.layout(params)
        cuts = np.linspace(a, b, max(1, min(chunks, b - a)) + 1).round().astype(int)
        pieces: list[Outputs] = []
        settings = self.settings
        for k in range(cuts.shape[0] - 1):
            out = simulate(self._prepared(flags, decided, (cuts[k], cuts[k + 1])), settings)
            pieces.append(out)
            figures = figures_of(pieces, self.settings.initial_capital, self.dataset.bar_ms)
            if on_chunk is not None:
                on_chunk(k, figures)
            final = float(out.equity[-1]) if out.equity.size else settings.initial_capital
            if final <= 0.0:
                break
            settings = msgspec.structs.replace(settings, initial_capital=final)
        return figures


def figures_of(pieces: list[Outputs], initial: float, bar_ms: int) -> Figures:
    """Figures of consecutive simulated pieces (one piece: exactly `BacktestResult`'s)."""
    trades = np.concatenate([p.trades for p in pieces])
    if len(pieces) == 1:
        acct = pieces[0].acct
        n, mean, m2 = int(acct[A_RET_N]), float(acct[A_RET_MEAN]), float(acct[A_RET_M2])
        down2, max_dd = float(acct[A_RET_DOWN2]), float(acct[A_MAX_DD])
        equity = pieces[0].equity
    else:
        equity = np.concatenate([p.equity for p in pieces])
        n, mean, m2, down2, max_dd = _moments(equity, initial)
    exposed = sum(float(p.acct[A_EXPOSED_BARS]) for p in pieces)
    final = float(equity[-1]) if equity.size else initial
    sharpe, sortino = metrics.return_ratios(n, mean, m2, down2, bar_ms)
    years = equity.shape[0] * bar_ms / YEAR_DAYS_MS
    cagr, calmar = metrics.growth(final, initial, years, max_dd)
    win_rate, factor, _ = metrics.trade_stats(metrics.net_pnl(trades))
    return Figures(
        total_return=final / initial - 1.0,
        sharpe=sharpe,
        sortino=sortino,
        calmar=calmar,
        cagr=cagr,
        profit_factor=factor,
        max_drawdown=max_dd,
        win_rate=win_rate,
        total_trades=int(trades.shape[0]),
        exposure=exposed / equity.shape[0] if equity.size else 0.0,
        final_capital=final,
    )


def _moments(equity: np.ndarray, initial: float) -> tuple[int, float, float, float, float]:
    """Per-bar return moments and the max drawdown of an equity curve (the kernel's formulas)."""
    prev = np.concatenate([[initial], equity[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where(prev > 0.0, equity / prev - 1.0, 0.0)
    peak = np.maximum.accumulate(np.concatenate([[initial], equity]))[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0.0, 1.0 - equity / peak, 0.0)
    n = int(returns.shape[0])
    mean = float(returns.mean()) if n else 0.0
    m2 = float(((returns - mean) ** 2).sum())
    down2 = float((np.minimum(returns, 0.0) ** 2).sum())
    max_dd = float(dd.max()) if n else 0.0
    return n, mean, m2, down2, max(0.0, max_dd) if math.isfinite(max_dd) else 0.0
