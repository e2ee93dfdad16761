"""The latest market view per symbol (last tick, last closed bar) and the shapes it is served in."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import msgspec

from viper.domain import Candle
from viper.errors import NotFoundError
from viper.modules.streamer.feed import Tick


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    """What is known now of one symbol."""

    symbol: str
    last: float | None = None
    bid: float | None = None
    ask: float | None = None
    tick_ms: int | None = None
    candle: Candle | None = None
    candle_close_ms: int | None = None
    stale: bool = False


class Realtime(msgspec.Struct, frozen=True, kw_only=True):
    """The body of GET /streamer/realtime: the latest tick and closed bar of each symbol."""

    source: str
    exchange: str
    timeframe: str
    symbols: dict[str, Quote]


class MarketState:
    """The last tick and the last closed bar of each configured symbol."""

    def __init__(self, symbols: Sequence[str], step_ms: int) -> None:
        self.symbols = tuple(symbols)
        self._step_ms = step_ms
        self._ticks: dict[str, Tick] = {}
        self._candles: dict[str, Candle] = {}

    def record_candle(self, symbol: str, candle: Candle) -> None:
        self._candles[symbol] = candle

    def record_tick(self, symbol: str, tick: Tick) -> None:
        self._ticks[symbol] = tick

    def has_data(self, symbol: str) -> bool:
        """Whether anything at all has arrived for `symbol`."""
        return symbol in self._ticks or symbol in self._candles

    def last_close_ms(self, symbol: str) -> int | None:
        """Close time of the last closed bar of `symbol`, if any."""
        candle = self._candles.get(symbol)
        return candle.ts_ms + self._step_ms if candle is not None else None

    def quote(self, symbol: str, *, stale: bool = False) -> Quote:
        """The view of one symbol."""
        tick = self._ticks.get(symbol)
        candle = self._candles.get(symbol)
        return Quote(
            symbol=symbol,
            last=tick.last if tick else None,
            bid=tick.bid if tick else None,
            ask=tick.ask if tick else None,
            tick_ms=tick.ts_ms if tick else None,
            candle=candle,
            candle_close_ms=self.last_close_ms(symbol),
            stale=stale,
        )

    def quotes(self, symbols: Sequence[str], stale: Collection[str]) -> dict[str, Quote]:
        """The views of `symbols`, keyed by symbol."""
        return {s: self.quote(s, stale=s in stale) for s in symbols}


def pick_symbols(requested: str | None, known: Sequence[str]) -> list[str]:
    """The symbols named in a comma-separated filter (all when empty); NotFoundError names strays.

    Matching ignores case, so `btc/usdt:usdt` finds `BTC/USDT:USDT`.
    """
    if not requested or not requested.strip():
        return list(known)
    by_upper = {s.upper(): s for s in known}
    wanted = [part.strip() for part in requested.split(",") if part.strip()]
    unknown = [w for w in wanted if w.upper() not in by_upper]
    if unknown:
        raise NotFoundError(
            f"unknown symbol(s) {', '.join(unknown)}; streamed: {', '.join(known)}",
            symbols=unknown,
        )
    return list(dict.fromkeys(by_upper[w.upper()] for w in wanted))
