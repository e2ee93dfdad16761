"""The exchange edge shared by the polling and live sources: ccxt clients, REST catch-up, errors.

ccxt is imported here (it costs about a second), so a replay never pays for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import ccxt
import ccxt.async_support
import ccxt.pro

from viper.config import ExchangeConfig
from viper.domain import Candle
from viper.errors import ConfigError
from viper.modules.streamer.feed import CandleCloser, candles_of

PAGE = 200  # Bitget's history endpoint answers at most 200 bars a page
MAX_PAGES = 50  # 10,000 bars: a longer outage resumes from the recent bars only
# Errors that retrying will not fix: a wrong symbol, refused credentials, an unsupported call.
PERMANENT: tuple[type[Exception], ...] = (
    ccxt.AuthenticationError,
    ccxt.PermissionDenied,
    ccxt.AccountSuspended,
    ccxt.BadRequest,
    ccxt.NotSupported,
)


def make_client(cfg: ExchangeConfig, *, websocket: bool) -> Any:
    """A public (key-less) ccxt client of `cfg.id`: ccxt.pro for websockets, else async REST."""
    family = ccxt.pro if websocket else ccxt.async_support
    cls = getattr(family, cfg.id, None)
    if cls is None:
        kind = "websocket (ccxt.pro)" if websocket else "REST"
        raise ConfigError(f"exchange.id: ccxt has no {kind} client named {cfg.id!r}")
    return cls(
        {
            "enableRateLimit": True,
            "timeout": int(cfg.timeout_seconds * 1000),
            "options": {"defaultType": cfg.market_type},
        }
    )


def is_transient(exc: BaseException) -> bool:
    """Whether retrying may help: network and exchange trouble, not a wrong request or a bug."""
    transient = isinstance(exc, ccxt.BaseError | OSError | TimeoutError)
    return transient and not isinstance(exc, PERMANENT)


def describe(exc: BaseException) -> str:
    """A short, secret-free reason for logs and health."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


Emit = Callable[[Candle], Awaitable[None]]


async def catch_up(
    client: Any, symbol: str, timeframe: str, closer: CandleCloser, *, warmup: int, emit: Emit
) -> int:
    """Fetch bars over REST and `emit` each that closed since the closer last saw data.

    Before any data, the last `warmup` closed bars (plus the forming one) are fetched; after,
    every bar since the last closed one, page by page. Each page is emitted before the next is
    asked for, so a failure part way loses nothing. Returns how many bars were emitted.
    """
    since = closer.resume_from()
    if since is None:
        rows = await client.fetch_ohlcv(symbol, timeframe, limit=warmup + 1)
        return await _emit_all(closer.feed(candles_of(rows)), emit)
    emitted = 0
    for _ in range(MAX_PAGES):
        page = candles_of(await client.fetch_ohlcv(symbol, timeframe, since=since, limit=PAGE))
        emitted += await _emit_all(closer.feed(page), emit)
        newer = [c.ts_ms for c in page if c.ts_ms >= since]
        if len(page) < PAGE or not newer:
            break
        since = max(newer) + 1
    return emitted


async def _emit_all(candles: list[Candle], emit: Emit) -> int:
    for candle in candles:
        await emit(candle)
    return len(candles)
