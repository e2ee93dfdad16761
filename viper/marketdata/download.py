"""Download closed candles from an exchange through ccxt, one page at a time, into the store.

Resumable: the caller passes the last stored open time and the walk starts one bar later; each
page goes to the store writer as it arrives, so an interruption loses at most one page. Requests
are rate limited and transient faults retried; ccxt errors become VIPER errors at this boundary.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import msgspec
import polars as pl
from loguru import logger
from tqdm import tqdm

from viper.ccxt_errors import ccxt_errors
from viper.clock import Clock
from viper.errors import ConfigError, NotFoundError, TemporaryError, ValidationError
from viper.marketdata.frames import CANDLE_SCHEMA, iso_ms, validate_candles
from viper.resilience import RateLimiter, RetryPolicy, retry
from viper.timeframes import timeframe_ms

if TYPE_CHECKING:
    import ccxt.async_support as ccxt

T = TypeVar("T")
StoreWriter = Callable[[pl.DataFrame], Awaitable[None] | None]
DEFAULT_RETRY = RetryPolicy(attempts=6, base_delay=0.5, max_delay=30.0)
# Per exchange: swap markets only (VIPER trades USDT-M perpetuals) and the classic v2 API.
EXCHANGE_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "bitget": {"defaultType": "swap", "fetchMarkets": {"types": ["swap"]}, "uta": False},
}
_log = logger.bind(module="marketdata")


class DownloadProgress(msgspec.Struct, frozen=True, kw_only=True):
    """Where one download stands; `eta_s` extrapolates the rate so far."""

    symbol: str
    timeframe: str
    candles: int
    expected: int
    pages: int
    elapsed_s: float

    @property
    def eta_s(self) -> float | None:
        """Seconds still to go at the rate so far; None before the first candle."""
        if self.candles == 0:
            return None
        return self.elapsed_s / self.candles * max(0, self.expected - self.candles)


ProgressCallback = Callable[[DownloadProgress], None]


class DownloadResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one download stored: open times of the first and last candle, pages, retries."""

    symbol: str
    timeframe: str
    pages: int
    candles: int
    first_ms: int | None
    last_ms: int | None
    retries: int


# --- the ccxt boundary -----------------------------------------------------------------------


def make_rate_limiter(exchange: ccxt.Exchange, clock: Clock) -> RateLimiter | None:
    """One request per `exchange.rateLimit` ms, no bursts; None when the exchange sets none."""
    interval_ms = float(exchange.rateLimit or 0)
    if interval_ms <= 0:
        return None
    return RateLimiter(rate=1000.0 / interval_ms, burst=1.0, clock=clock)


# --- one symbol ------------------------------------------------------------------------------


def page_cap(exchange: ccxt.Exchange, symbol: str) -> int | None:
    """The largest `limit` ccxt pages OHLCV with for this market (`features`), if it says.

    Bitget needs it: past its recent window ccxt switches to a history endpoint of 200 bars and,
    asked for more, anchors the window at `since + limit` bars, silently skipping the first ones.
    """
    market = exchange.market(symbol)
    node: Any = (exchange.features or {}).get(market.get("type"), {})
    if market.get("contract") and isinstance(node, dict):
        node = node.get("linear" if market.get("linear") else "inverse", {})
    limit = (node or {}).get("fetchOHLCV", {}).get("limit") if isinstance(node, dict) else None
    return limit if isinstance(limit, int) and limit > 0 else None


def page_frame(
    rows: Sequence[Sequence[Any]], start_ms: int, end_ms: int, timeframe: str, source: str
) -> pl.DataFrame:
    """ccxt OHLCV rows in the store schema, only bars opening in [start_ms, end_ms), deduped."""
    frame = pl.DataFrame(
        [list(row[:6]) for row in rows], schema=CANDLE_SCHEMA, orient="row", strict=False
    )
    frame = frame.filter((pl.col("timestamp") >= start_ms) & (pl.col("timestamp") < end_ms))
    return validate_candles(frame, timeframe, source=source)


async def _write(writer: StoreWriter, frame: pl.DataFrame) -> None:
    result = writer(frame)
    if inspect.isawaitable(result):
        await result


def _bounds(
    since_ms: int, until_ms: int | None, resume_from: int | None, step: int, now_ms: int
) -> tuple[int, int]:
    """[start, end) of open times to fetch: on the grid, after `resume_from`, closed bars only."""
    start = -(-since_ms // step) * step
    if resume_from is not None:
        start = max(start, resume_from + step)
    end = now_ms // step * step  # a bar opening here or later is not closed yet
    if until_ms is not None:
        end = min(end, until_ms)
    return start, end


def _check_market(exchange: ccxt.Exchange, symbol: str, timeframe: str) -> None:
    if symbol not in (exchange.markets or {}):
        raise NotFoundError(
            f"{exchange.id} has no market {symbol!r}", field="symbol", symbol=symbol
        )
    if exchange.timeframes and timeframe not in exchange.timeframes:
        known = ", ".join(exchange.timeframes)
        raise ValidationError(
            f"{exchange.id} has no {timeframe!r} candles; use one of {known}", field="timeframe"
        )


async def download_candles(
    exchange: ccxt.Exchange,
    store_writer: StoreWriter,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int | None = None,
    *,
    page_size: int = 1000,
    clock: Clock,
    resume_from: int | None = None,
    progress: ProgressCallback | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY,
    rate_limiter: RateLimiter | None = None,
) -> DownloadResult:
    """Fetch the closed `timeframe` bars of `symbol` opening in [since_ms, until_ms) page by page.

    Starts after `resume_from` (the last stored open time) when given and stops at `until_ms`,
    at the last closed bar (per `clock`) or when the exchange has nothing newer. Each page is
    handed to `store_writer` (sync or async) before the next is requested. `rate_limiter`
    defaults to one sized from `exchange.rateLimit`; pass one to share it between downloads.
    Raises NotFoundError for an unknown symbol, APIError once retries run out.
    """
    if page_size < 1:
        raise ValidationError(f"page_size must be at least 1, got {page_size}", field="page_size")
    limiter = rate_limiter if rate_limiter is not None else make_rate_limiter(exchange, clock)
    run = _Download(exchange, symbol, timeframe, clock=clock, policy=retry_policy, limiter=limiter)
    await run.call(exchange.load_markets)
    _check_market(exchange, symbol, timeframe)
    start, end = _bounds(since_ms, until_ms, resume_from, run.step, clock.now_ms())
    limit_cap = min(page_size, page_cap(exchange, symbol) or page_size)
    return await run.walk(start, end, limit_cap, store_writer, progress)


class _Download:
    """One symbol's download: its exchange calls (limited, retried, mapped) and page loop."""

    def __init__(
        self,
        exchange: ccxt.Exchange,
        symbol: str,
        timeframe: str,
        *,
        clock: Clock,
        policy: RetryPolicy,
        limiter: RateLimiter | None,
    ) -> None:
        self.exchange, self.symbol, self.timeframe = exchange, symbol, timeframe
        self.clock, self.policy, self.limiter = clock, policy, limiter
        self.step = timeframe_ms(timeframe)
        self.source = f"{exchange.id} {symbol} {timeframe}"
        self.pages = self.candles = self.retries = 0
        self.first_ms: int | None = None
        self.last_ms: int | None = None

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """`fn()` through the rate limiter, retried on TemporaryError, ccxt errors mapped."""

        async def attempt() -> T:
            if self.limiter is not None:
                await self.limiter.acquire()
            with ccxt_errors(self.exchange.id, self.symbol):
                return await fn()

        policy = self.policy
        return await retry(
            attempt,
            attempts=policy.attempts,
            base_delay=policy.base_delay,
            max_delay=policy.max_delay,
            jitter=policy.jitter,
            retry_on=(TemporaryError,),
            clock=self.clock,
            on_retry=self._on_retry,
        )

    async def walk(
        self,
        start: int,
        end: int,
        limit_cap: int,
        writer: StoreWriter,
        progress: ProgressCallback | None,
    ) -> DownloadResult:
        """Fetch and store pages from `start` until `end` or until the exchange runs dry."""
        expected, started = max(0, -(-(end - start) // self.step)), self.clock.monotonic()
        self._report(progress, expected, started)
        cursor = start
        while cursor < end:
            limit = min(limit_cap, -(-(end - cursor) // self.step))
            fetch = functools.partial(
                self.exchange.fetch_ohlcv, self.symbol, self.timeframe, cursor, limit
            )
            frame = page_frame(await self.call(fetch), cursor, end, self.timeframe, self.source)
            if frame.is_empty():
                _log.info("{}: nothing after {}; stopping", self.source, iso_ms(cursor))
                break
            await _write(writer, frame)
            self._count(frame)
            self._report(progress, expected, started)
            cursor = int(frame["timestamp"][-1]) + self.step
        self._report(progress, self.candles, started)  # done: expected is what there was
        return DownloadResult(
            symbol=self.symbol,
            timeframe=self.timeframe,
            pages=self.pages,
            candles=self.candles,
            first_ms=self.first_ms,
            last_ms=self.last_ms,
            retries=self.retries,
        )

    def _on_retry(self, attempt: int, exc: Exception, delay: float) -> None:
        self.retries += 1
        _log.warning("{}: try {} failed ({}); again in {:.2f}s", self.source, attempt, exc, delay)

    def _count(self, frame: pl.DataFrame) -> None:
        self.pages += 1
        self.candles += frame.height
        if self.first_ms is None:
            self.first_ms = int(frame["timestamp"][0])
        self.last_ms = int(frame["timestamp"][-1])

    def _report(self, progress: ProgressCallback | None, expected: int, started: float) -> None:
        if progress is None:
            return
        report = DownloadProgress(
            symbol=self.symbol,
            timeframe=self.timeframe,
            candles=self.candles,
            expected=max(expected, self.candles),
            pages=self.pages,
            elapsed_s=self.clock.monotonic() - started,
        )
        progress(report)


# --- the client and several symbols ----------------------------------------------------------


def rebase_urls(urls: Any, api_url: str) -> Any:
    """`urls` (a string or nested dict of them) with scheme and host replaced by `api_url`'s."""
    if isinstance(urls, dict):
        return {key: rebase_urls(value, api_url) for key, value in urls.items()}
    if not isinstance(urls, str):
        return urls
    path = urlsplit(urls).path
    return api_url.rstrip("/") + path


def make_exchange(
    exchange_id: str,
    *,
    api_url: str | None = None,
    timeout_ms: int = 10_000,
    options: dict[str, Any] | None = None,
    rate_limit_ms: float | None = None,
) -> ccxt.Exchange:
    """The async ccxt client for `exchange_id`, rate limited; close it with `await ex.close()`.

    `api_url` replaces the scheme and host of every REST URL (tests point it at a fake server);
    `options` are merged over VIPER's defaults (USDT-M swap markets for bitget).
    """
    ccxt: Any = importlib.import_module("ccxt.async_support")  # loaded only when needed
    cls = getattr(ccxt, exchange_id, None) if exchange_id in ccxt.exchanges else None
    if cls is None:
        raise ConfigError(f"unknown exchange {exchange_id!r}", field="exchange")
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": timeout_ms,
        "options": {**EXCHANGE_DEFAULTS.get(exchange_id, {}), **(options or {})},
    }
    if rate_limit_ms is not None:
        config["rateLimit"] = rate_limit_ms
    exchange: ccxt.Exchange = cls(config)
    if api_url is not None:
        exchange.urls["api"] = rebase_urls(exchange.urls["api"], api_url)
    return exchange


def _bar_callback(bar: tqdm[Any]) -> ProgressCallback:
    def update(p: DownloadProgress) -> None:
        bar.total = p.expected
        bar.update(p.candles - bar.n)

    return update


async def download_many(
    exchange: ccxt.Exchange,
    writer_for: Callable[[str], StoreWriter],
    symbols: Sequence[str],
    timeframe: str,
    since_ms: int,
    until_ms: int | None = None,
    *,
    clock: Clock,
    resume_from: Mapping[str, int] | None = None,
    page_size: int = 1000,
    progress: bool = False,
    concurrency: int = 2,
    retry_policy: RetryPolicy = DEFAULT_RETRY,
) -> list[DownloadResult]:
    """`download_candles` for each symbol, a few at a time, sharing one rate limiter.

    `writer_for(symbol)` gives each symbol's store writer; `resume_from[symbol]` its last stored
    open time. With `progress`, a tqdm bar per symbol shows candles and ETA. The first failure
    cancels the others (each loses at most a page) and is raised.
    """
    limiter = make_rate_limiter(exchange, clock)
    gate = asyncio.Semaphore(max(1, concurrency))
    resume = resume_from or {}

    async def one(position: int, symbol: str) -> DownloadResult:
        async with gate:
            bar = tqdm(desc=symbol, unit="candle", position=position) if progress else None
            try:
                return await download_candles(
                    exchange,
                    writer_for(symbol),
                    symbol,
                    timeframe,
                    since_ms,
                    until_ms,
                    page_size=page_size,
                    clock=clock,
                    retry_policy=retry_policy,
                    resume_from=resume.get(symbol),
                    progress=_bar_callback(bar) if bar is not None else None,
                    rate_limiter=limiter,
                )
            finally:
                if bar is not None:
                    bar.close()

    tasks = [asyncio.create_task(one(i, s), name=f"download:{s}") for i, s in enumerate(symbols)]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
