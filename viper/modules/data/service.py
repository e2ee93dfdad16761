"""Candles for readers: the store behind the multi-level cache, served by range and page.

A dataset of up to `WHOLE_DATASET_ROWS` rows is cached whole (memory, then Redis under the
original key `market_data:{symbol}:{timeframe}`) and sliced per request; larger ones are read
from the Parquet file with the range pushed down.
"""

from __future__ import annotations

import asyncio
import io

import msgspec
import polars as pl

from viper.cache import Cache, Codec
from viper.errors import NotFoundError
from viper.store.candles import CandleStore, DatasetInfo
from viper.timeframes import timeframe_ms

WHOLE_DATASET_ROWS = 500_000
KIND = "market_data"


def _to_ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="lz4")
    return buffer.getvalue()


def _from_ipc(raw: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(raw))


FRAME_CODEC = Codec[pl.DataFrame](_to_ipc, _from_ipc)


class CandlePage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of candles as `[timestamp_ms, open, high, low, close, volume]` rows."""

    exchange: str
    symbol: str
    timeframe: str
    count: int
    candles: list[tuple[int, float, float, float, float, float]]
    next_start: int | None = None
    next_end: int | None = None


class DataService:
    """Reads candles through the cache and keeps the cache honest when the store changes."""

    def __init__(self, store: CandleStore, cache: Cache, default_exchange: str) -> None:
        self.store = store
        self.cache = cache
        self.default_exchange = default_exchange

    def cache_key(self, exchange: str, symbol: str, timeframe: str) -> str:
        """The original key layout for the default exchange; prefixed for any other."""
        if exchange == self.default_exchange:
            return f"market_data:{symbol}:{timeframe}"
        return f"market_data:{exchange}:{symbol}:{timeframe}"

    async def datasets(self) -> list[DatasetInfo]:
        """Every stored dataset."""
        return await asyncio.to_thread(self.store.datasets)

    async def candles(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> pl.DataFrame:
        """Candles with start_ms <= timestamp < end_ms (the CandleSource protocol)."""
        timeframe_ms(timeframe)
        rows = await asyncio.to_thread(self.store.row_count, exchange, symbol, timeframe)
        if rows == 0:
            raise NotFoundError(f"no {timeframe} candles stored for {symbol} on {exchange}")
        if rows > WHOLE_DATASET_ROWS:
            return await asyncio.to_thread(
                self.store.read, exchange, symbol, timeframe, start_ms, end_ms
            )
        whole = await self.cache.get(
            KIND,
            self.cache_key(exchange, symbol, timeframe),
            lambda: asyncio.to_thread(self.store.read, exchange, symbol, timeframe),
            FRAME_CODEC,
        )
        return slice_range(whole, start_ms, end_ms)

    async def page(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        descending: bool = False,
    ) -> tuple[pl.DataFrame, int | None]:
        """Up to `limit` candles and the cursor of the next page (None on the last page).

        Ascending pages continue at `start = cursor`; descending ones at `end = cursor`.
        """
        frame = await self.candles(exchange, symbol, timeframe, start_ms, end_ms)
        if descending:
            frame = frame.reverse()
        page = frame.head(limit)
        if frame.height <= limit or page.is_empty():
            return page, None
        last = int(page["timestamp"][-1])
        return page, (last if descending else last + 1)

    async def invalidate(self, exchange: str, symbol: str, timeframe: str) -> None:
        """Forget cached candles of a dataset that was just written."""
        await self.cache.invalidate(KIND, self.cache_key(exchange, symbol, timeframe))


def slice_range(frame: pl.DataFrame, start_ms: int | None, end_ms: int | None) -> pl.DataFrame:
    """Rows with start_ms <= timestamp < end_ms of a frame sorted by timestamp (binary search)."""
    stamps = frame["timestamp"]
    lo = 0 if start_ms is None else int(stamps.search_sorted(start_ms, side="left"))
    hi = frame.height if end_ms is None else int(stamps.search_sorted(end_ms, side="left"))
    return frame.slice(lo, max(0, hi - lo))


def page_rows(frame: pl.DataFrame) -> list[tuple[int, float, float, float, float, float]]:
    """A frame as ccxt-shaped rows."""
    return list(frame.select("timestamp", "open", "high", "low", "close", "volume").iter_rows())
