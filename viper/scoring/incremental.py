"""Live VIPER scoring: one closed candle at a time, per symbol, through the batch's kernel.

`IncrementalScorer.update` calls the same `score_step` that `score_batch` loops (there compiled
by numba, here plain Python, so the live process does not load numba), and a symbol fed the
same candles gets bit-identical numbers either way.
"""

from __future__ import annotations

import math

import numpy as np

from viper.domain import Candle, Direction, Score
from viper.scoring import kernel
from viper.scoring.params import ScoreParams

Step = tuple[float, float, float, float, float, float, float, float]
_DIRECTIONS: dict[float, Direction] = {1.0: "long", -1.0: "short"}


class _Series:
    """One symbol's kernel state and the open time of its last scored bar."""

    __slots__ = ("last", "last_ts_ms", "state")

    def __init__(self, lookback: int) -> None:
        self.state = [0.0] * kernel.state_size(lookback)
        self.last_ts_ms: int | None = None
        self.last: Step | None = None


class IncrementalScorer:
    """Scores symbols bar by bar; keeps a constant-size state per symbol."""

    def __init__(self, params: ScoreParams | None = None) -> None:
        self.params = params or ScoreParams()
        self._vector = self.params.as_array().tolist()
        self._series: dict[str, _Series] = {}
        self.skipped = 0

    @property
    def symbols(self) -> list[str]:
        """Symbols seen so far."""
        return list(self._series)

    def step(
        self,
        symbol: str,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        funding: float = math.nan,
        imbalance: float = math.nan,
    ) -> Step:
        """Feed one bar; the kernel's raw (score, direction, volume, price, range, external,
        atr, ema), NaN score during warm-up."""
        series = self._series.get(symbol)
        if series is None:
            series = self._series[symbol] = _Series(self.params.lookback)
        result: Step = kernel.score_step(
            series.state, open, high, low, close, volume, funding, imbalance, self._vector
        )
        series.last = result
        return result

    def update(
        self,
        symbol: str,
        candle: Candle,
        funding: float = math.nan,
        imbalance: float = math.nan,
    ) -> Score | None:
        """Score a closed candle; None during warm-up, when the close sits exactly on the EMA
        (no direction), or for a candle not newer than the last one (a replay: skipped)."""
        series = self._series.get(symbol)
        last_ts_ms = series.last_ts_ms if series is not None else None
        if last_ts_ms is not None and candle.ts_ms <= last_ts_ms:
            self.skipped += 1
            return None
        c = candle
        result = self.step(symbol, c.open, c.high, c.low, c.close, c.volume, funding, imbalance)
        self._series[symbol].last_ts_ms = c.ts_ms
        direction = _DIRECTIONS.get(result[kernel.O_DIRECTION])
        if direction is None or math.isnan(result[kernel.O_SCORE]):
            return None
        return Score(
            ts_ms=c.ts_ms,
            score=result[kernel.O_SCORE],
            direction=direction,
            volume=result[kernel.O_VOLUME],
            price=result[kernel.O_PRICE],
            range=result[kernel.O_RANGE],
            external=result[kernel.O_EXTERNAL],
        )

    def atr(self, symbol: str) -> float | None:
        """The symbol's current ATR(n) (defined from its first bar); None if never seen."""
        series = self._series.get(symbol)
        return None if series is None or series.last is None else series.last[kernel.O_ATR]

    def ema(self, symbol: str) -> float | None:
        """The symbol's current EMA(close, n); None if never seen."""
        series = self._series.get(symbol)
        return None if series is None or series.last is None else series.last[kernel.O_EMA]

    def bars(self, symbol: str) -> int:
        """Bars the symbol has been fed."""
        series = self._series.get(symbol)
        return 0 if series is None else int(series.state[kernel.S_COUNT])

    def reset(self, symbol: str | None = None) -> None:
        """Forget one symbol (or all): its next bar starts a fresh warm-up."""
        if symbol is None:
            self._series.clear()
        else:
            self._series.pop(symbol, None)

    def state_of(self, symbol: str) -> np.ndarray | None:
        """A copy of the symbol's kernel state (for checkpoints and tests)."""
        series = self._series.get(symbol)
        return None if series is None else np.array(series.state, dtype=np.float64)
