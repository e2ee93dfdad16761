"""The last closed bars per symbol and timeframe, so the candlestick chart opens with history.

Stored candles may not exist (the synthetic market is replayed, not stored), so the dashboard
keeps what the bus carried since start.
"""

from __future__ import annotations

import collections

import msgspec

from viper.domain import Candle
from viper.errors import NotFoundError


class CandleSeries(msgspec.Struct, frozen=True, kw_only=True):
    """The body of GET /web/candles: recent closed bars of one series, oldest first."""

    symbol: str
    timeframe: str
    count: int
    candles: list[Candle]


class CandleHistory:
    """A ring of the latest `size` bars of each (symbol, timeframe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._bars: dict[tuple[str, str], collections.deque[Candle]] = {}

    def record(self, symbol: str, timeframe: str, candle: Candle) -> None:
        """Keep `candle`; a bar already held (same open time) is replaced, an older one ignored."""
        ring = self._bars.get((symbol, timeframe))
        if ring is None:
            ring = self._bars[(symbol, timeframe)] = collections.deque(maxlen=self.size)
        if ring and candle.ts_ms <= ring[-1].ts_ms:
            if candle.ts_ms == ring[-1].ts_ms:
                ring[-1] = candle
            return
        ring.append(candle)

    def series(self) -> list[tuple[str, str]]:
        """The (symbol, timeframe) pairs held."""
        return sorted(self._bars)

    def recent(self, symbol: str, timeframe: str | None, limit: int) -> CandleSeries:
        """The last `limit` bars; NotFoundError names the series held when there are none."""
        matches = [k for k in self._bars if k[0] == symbol and timeframe in (None, k[1])]
        if not matches:
            held = ", ".join(f"{s} {t}" for s, t in self.series()) or "none yet"
            raise NotFoundError(f"no candles seen for {symbol}; held: {held}", symbol=symbol)
        key = matches[0]
        bars = list(self._bars[key])[-limit:]
        return CandleSeries(symbol=key[0], timeframe=key[1], count=len(bars), candles=bars)
