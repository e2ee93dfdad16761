"""A seeded synthetic crypto market: correlated multi-symbol OHLCV for tests, demos and replay.

Log returns follow a geometric Brownian motion whose volatility switches between calm, normal
and stressed regimes (a Markov chain shared by the whole market). Every symbol other than the
reference (BTC by default) moves as `beta * reference + idiosyncratic noise`; each symbol also
has trend episodes (drift bursts of 20-80 bars) that make momentum signals fire. Volume rises
with |return| and with the regime. `generate` and `SyntheticMarket` run the same chunked engine,
so the batch and the bar-by-bar series are identical for the same seed.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from typing import Final

import numpy as np
import polars as pl

from viper.domain import Candle
from viper.errors import ValidationError
from viper.marketdata.frames import grid_offset_ms
from viper.timeframes import timeframe_ms

CHUNK: Final = 16_384  # bars drawn per step; fixed, so batch and replay draw alike
_YEAR_MS: Final = 365.25 * 86_400_000
_LEVELS: Final = {"BTC": 60_000.0, "ETH": 3_000.0, "SOL": 150.0}
_ANNUAL_VOL: Final = {"BTC": 0.55, "ETH": 0.70, "SOL": 0.95}
_CORRELATION: Final = {"ETH": 0.82, "SOL": 0.72}
_NOTIONAL_PER_MINUTE: Final = {"BTC": 4e6, "ETH": 2e6, "SOL": 6e5}  # quote currency
_REGIME_SCALE: Final = np.array([0.6, 1.0, 2.1])  # calm, normal, stressed
_REGIME_BARS: Final = (1200.0, 1600.0, 400.0)  # mean length of each regime
_REGIME_NEXT: Final = np.array([[0.0, 0.8, 0.2], [0.6, 0.0, 0.4], [0.3, 0.7, 0.0]])
_QUIET_BARS: Final = 600.0  # mean bars between two trend episodes
_REGIME_KEY, _RETURNS, _WICKS, _VOLUME, _TRENDS = range(5)


def _base(symbol: str) -> str:
    return re.split(r"[/:_-]", symbol, maxsplit=1)[0].upper()


def _unit(symbol: str, salt: int) -> float:
    """A stable number in [0, 1) from the symbol name (Python's hash() varies per process)."""
    return (zlib.crc32(f"{symbol}#{salt}".encode()) % 1_000_003) / 1_000_003


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


class _Regimes:
    """The market-wide volatility regime: a Markov chain with geometric stay lengths."""

    def __init__(self, seed: int) -> None:
        self._rng = _rng(seed, _REGIME_KEY)
        self._state, self._left = 1, self._length(1)

    def _length(self, state: int) -> int:
        return int(self._rng.geometric(1.0 / _REGIME_BARS[state]))

    def take(self, n: int) -> np.ndarray:
        out, filled = np.empty(n, dtype=np.int64), 0
        while filled < n:
            step = min(self._left, n - filled)
            out[filled : filled + step] = self._state
            filled, self._left = filled + step, self._left - step
            if self._left == 0:
                self._state = int(self._rng.choice(3, p=_REGIME_NEXT[self._state]))
                self._left = self._length(self._state)
        return out


class _Trends:
    """Drift bursts, in units of the bar's sigma: quiet spells, then 20-80 bars one way."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._drift, self._left = 0.0, int(rng.geometric(1.0 / _QUIET_BARS))

    def take(self, n: int) -> np.ndarray:
        out, filled = np.empty(n), 0
        while filled < n:
            step = min(self._left, n - filled)
            out[filled : filled + step] = self._drift
            filled, self._left = filled + step, self._left - step
            if self._left == 0 and self._drift == 0.0:
                sign = 1.0 if self._rng.random() < 0.5 else -1.0
                self._drift = sign * self._rng.uniform(0.35, 0.7)
                self._left = int(self._rng.integers(20, 81))
            elif self._left == 0:
                self._drift, self._left = 0.0, int(self._rng.geometric(1.0 / _QUIET_BARS))
        return out


class _Symbol:
    """One symbol's parameters, random streams and last log price."""

    def __init__(self, symbol: str, seed: int, bar_ms: int) -> None:
        base, key = _base(symbol), zlib.crc32(symbol.encode())
        self.price = _LEVELS.get(base, 1.0 + 99.0 * _unit(symbol, 1) ** 2)
        annual = _ANNUAL_VOL.get(base, 0.8 + 0.4 * _unit(symbol, 2))
        self.sigma = annual * math.sqrt(bar_ms / _YEAR_MS)
        self.rho = _CORRELATION.get(base, 0.55 + 0.2 * _unit(symbol, 3))
        minutes = bar_ms / 60_000
        self.volume = _NOTIONAL_PER_MINUTE.get(base, 1.5e5) * minutes / self.price
        self.close, self.log_price = self.price, math.log(self.price)
        self.returns, self.wicks = _rng(seed, key, _RETURNS), _rng(seed, key, _WICKS)
        self.noise, self.trends = _rng(seed, key, _VOLUME), _Trends(_rng(seed, key, _TRENDS))


class _Engine:
    """Draws the market CHUNK bars at a time; `generate` and `SyntheticMarket` share it."""

    def __init__(self, symbols: Sequence[str], timeframe: str, seed: int, start_ms: int,
                 reference: str | None) -> None:  # fmt: skip
        self.bar_ms = _checked(symbols, timeframe, start_ms, reference)
        self.symbols = list(symbols)
        self.reference = reference or next(
            (s for s in symbols if _base(s) == "BTC"), self.symbols[0]
        )
        self.next_ms = start_ms
        self._regimes = _Regimes(seed)
        self._state = {s: _Symbol(s, seed, self.bar_ms) for s in self.symbols}

    def chunk(self) -> dict[str, np.ndarray]:
        """The next CHUNK bars: per symbol an array of (timestamp, o, h, l, c, v) rows."""
        scale = _REGIME_SCALE[self._regimes.take(CHUNK)]
        ref = self._state[self.reference]
        ref_shock = ref.returns.standard_normal(CHUNK) + ref.trends.take(CHUNK)
        stamps = self.next_ms + self.bar_ms * np.arange(CHUNK, dtype=np.int64)
        self.next_ms += CHUNK * self.bar_ms
        out = {}
        for name, sym in self._state.items():
            if sym is ref:
                shock = ref_shock
            else:
                own = sym.returns.standard_normal(CHUNK) + sym.trends.take(CHUNK)
                shock = sym.rho * ref_shock + math.sqrt(1.0 - sym.rho**2) * own
            out[name] = _bars(sym, stamps, sym.sigma * scale * shock, scale)
        return out


def _bars(sym: _Symbol, stamps: np.ndarray, returns: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """OHLCV rows from log returns: open = previous close, wicks beyond the body."""
    log_close = sym.log_price + np.cumsum(returns)
    close = np.exp(log_close)
    open_ = np.empty_like(close)
    open_[0], open_[1:] = sym.close, close[:-1]
    sym.close, sym.log_price = float(close[-1]), float(log_close[-1])
    wick = 0.5 * sym.sigma * scale[:, None] * np.abs(sym.wicks.standard_normal((len(close), 2)))
    high = np.maximum(open_, close) * np.exp(wick[:, 0])
    low = np.minimum(open_, close) * np.exp(-wick[:, 1])
    activity = 0.5 + np.abs(returns) / sym.sigma  # busier on big moves and in stressed regimes
    volume = sym.volume * activity * scale**0.5 * sym.noise.lognormal(-0.2, 0.6, len(close))
    return np.column_stack([stamps.astype(np.float64), open_, high, low, close, volume])


def _checked(symbols: Sequence[str], timeframe: str, start_ms: int, reference: str | None) -> int:
    bar_ms = timeframe_ms(timeframe)
    if not symbols or len(set(symbols)) != len(symbols):
        raise ValidationError("symbols must be a non-empty list without repeats", field="symbols")
    if reference is not None and reference not in symbols:
        raise ValidationError(
            f"reference {reference!r} is not among the symbols", field="reference"
        )
    if (start_ms - grid_offset_ms(timeframe)) % bar_ms:
        raise ValidationError(
            f"start_ms {start_ms} is not on the {timeframe} grid", field="start_ms"
        )
    return bar_ms


def generate(
    symbols: Sequence[str],
    timeframe: str,
    start_ms: int,
    bars: int,
    seed: int = 7,
    reference: str | None = None,
) -> dict[str, pl.DataFrame]:
    """`bars` candles per symbol in the store schema, the same for the same arguments."""
    if bars < 0:
        raise ValidationError(f"bars must be >= 0, got {bars}", field="bars")
    engine = _Engine(symbols, timeframe, seed, start_ms, reference)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in engine.symbols}
    for _ in range(-(-bars // CHUNK)):
        for name, rows in engine.chunk().items():
            parts[name].append(rows)
    return {name: _frame(chunks, bars) for name, chunks in parts.items()}


def _frame(chunks: list[np.ndarray], bars: int) -> pl.DataFrame:
    rows = np.concatenate(chunks)[:bars] if chunks else np.empty((0, 6))
    return pl.DataFrame(
        {
            "timestamp": rows[:, 0].astype(np.int64),
            "open": rows[:, 1],
            "high": rows[:, 2],
            "low": rows[:, 3],
            "close": rows[:, 4],
            "volume": rows[:, 5],
        }
    )


class SyntheticMarket:
    """The same market as `generate`, one bar at a time, for live replay."""

    def __init__(
        self,
        symbols: Sequence[str],
        timeframe: str,
        seed: int = 7,
        start_ms: int = 0,
        reference: str | None = None,
    ) -> None:
        self._engine = _Engine(symbols, timeframe, seed, start_ms, reference)
        self._buffer: dict[str, np.ndarray] = {}
        self._index = CHUNK

    @property
    def symbols(self) -> list[str]:
        """The symbols, in the order they were given."""
        return list(self._engine.symbols)

    def next_bar(self) -> dict[str, Candle]:
        """The next closed candle of every symbol."""
        if self._index == CHUNK:
            self._buffer, self._index = self._engine.chunk(), 0
        i, self._index = self._index, self._index + 1
        return {name: _candle(rows[i]) for name, rows in self._buffer.items()}


def _candle(row: np.ndarray) -> Candle:
    ts, open_, high, low, close, volume = (float(x) for x in row)
    return Candle(ts_ms=int(ts), open=open_, high=high, low=low, close=close, volume=volume)
