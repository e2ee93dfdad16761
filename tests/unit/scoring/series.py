"""Hypothesis strategies and helpers for the scoring tests: valid random OHLCV series."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from viper.domain import Candle

STEP_MS = 60_000
T0 = 1_700_000_000_000


class Series:
    """Columns of one symbol's bars, oldest first."""

    def __init__(self, rows: list[tuple[float, ...]]) -> None:
        table = np.array(rows, dtype=np.float64).reshape(-1, 7)
        self.open, self.high, self.low, self.close, self.volume = table[:, :5].T.copy()
        self.funding = table[:, 5].copy()
        self.imbalance = table[:, 6].copy()

    def __len__(self) -> int:
        return len(self.close)

    def ohlcv(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.open, self.high, self.low, self.close, self.volume

    def candle(self, i: int) -> Candle:
        return Candle(
            ts_ms=T0 + i * STEP_MS,
            open=float(self.open[i]),
            high=float(self.high[i]),
            low=float(self.low[i]),
            close=float(self.close[i]),
            volume=float(self.volume[i]),
        )


_optional_rate = st.one_of(st.just(math.nan), st.floats(-0.002, 0.002))
_optional_imbalance = st.one_of(st.just(math.nan), st.floats(-1.0, 1.0))


@st.composite
def bars(draw: st.DrawFn, min_size: int = 0, max_size: int = 60) -> list[tuple[float, ...]]:
    """Valid bars: positive prices, low <= open, close <= high, volume >= 0; some flat."""
    size = draw(st.integers(min_size, max_size))
    price = draw(st.floats(0.01, 100_000.0))
    with_funding = draw(st.booleans())
    rows = []
    for _ in range(size):
        kind = draw(st.sampled_from(["move", "move", "move", "flat", "gap"]))
        if kind == "flat":
            o = c = hi = lo = price
        else:
            o = price * (1 + draw(st.floats(-0.03, 0.03))) if kind == "gap" else price
            c = o * (1 + draw(st.floats(-0.05, 0.05)))
            hi = max(o, c) * (1 + draw(st.floats(0.0, 0.02)))
            lo = min(o, c) * (1 - draw(st.floats(0.0, 0.02)))
        volume = draw(st.one_of(st.just(0.0), st.floats(0.0, 1e7)))
        funding = draw(_optional_rate) if with_funding else math.nan
        rows.append((o, hi, lo, c, volume, funding, draw(_optional_imbalance)))
        price = c
    return rows


lookbacks = st.sampled_from([2, 3, 5, 20])
