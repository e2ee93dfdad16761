"""ccxt's exceptions mapped to VIPER's at the exchange boundary: one table, one context manager.

Every ccxt exception class has a row in `ccxt_error_table()` (a test walks ccxt's classes and
fails on a missing one); `ccxt_errors` picks the row of the most specific class an error is of
and re-raises as that VIPER class, chained with `raise ... from exc`, as httpx does.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from viper.errors import (
    DuplicateOrderError,
    ExchangeAuthError,
    ExchangeError,
    ExchangeNotSupportedError,
    ExchangePermissionError,
    ExchangeRateLimitError,
    ExchangeRejectedError,
    ExchangeTimeoutError,
    ExchangeUnavailableError,
    InsufficientFundsError,
    InvalidOrderError,
    MarketNotFoundError,
    OrderNotFoundError,
    PostOnlyRejectedError,
    ViperError,
)

_MAX_DETAIL = 200
# Bitget-style envelopes carry a stable code: `"code":"40786"`; it goes into the VIPER error.
_CODE = re.compile(r'"code"\s*:\s*"?([A-Za-z0-9_-]+)"?')


@functools.cache
def ccxt_error_table() -> Mapping[type[Exception], type[ViperError]]:
    """Every ccxt exception class and its VIPER class (built on first use: importing ccxt costs
    about 90 MB and a second, which paper trading never needs)."""
    ccxt: Any = importlib.import_module("ccxt.async_support")
    return {
        ccxt.BaseError: ExchangeError,
        ccxt.ExchangeError: ExchangeError,
        ccxt.ArgumentsRequired: ExchangeError,  # VIPER called ccxt wrongly: a bug, not a retry
        ccxt.AuthenticationError: ExchangeAuthError,
        ccxt.AccountSuspended: ExchangePermissionError,
        ccxt.PermissionDenied: ExchangePermissionError,
        ccxt.AccountNotEnabled: ExchangePermissionError,
        ccxt.BadRequest: ExchangeRejectedError,
        ccxt.BadSymbol: MarketNotFoundError,
        ccxt.ExchangeClosedByUser: ExchangeError,
        ccxt.InsufficientFunds: InsufficientFundsError,
        ccxt.InvalidAddress: ExchangeRejectedError,
        ccxt.AddressPending: ExchangeRejectedError,
        ccxt.InvalidOrder: InvalidOrderError,
        ccxt.ContractUnavailable: InvalidOrderError,
        ccxt.DuplicateOrderId: DuplicateOrderError,
        ccxt.OrderImmediatelyFillable: PostOnlyRejectedError,
        ccxt.OrderNotCached: OrderNotFoundError,
        ccxt.OrderNotFillable: InvalidOrderError,
        ccxt.OrderNotFound: OrderNotFoundError,
        ccxt.InvalidProxySettings: ExchangeError,
        ccxt.NotSupported: ExchangeNotSupportedError,
        ccxt.OperationRejected: ExchangeRejectedError,
        ccxt.ManualInteractionNeeded: ExchangeRejectedError,
        ccxt.MarketClosed: ExchangeRejectedError,
        ccxt.NoChange: ExchangeRejectedError,
        ccxt.MarginModeAlreadySet: ExchangeRejectedError,
        ccxt.RestrictedLocation: ExchangePermissionError,
        # OperationFailed: the same request may well succeed a moment later.
        ccxt.OperationFailed: ExchangeUnavailableError,
        ccxt.BadResponse: ExchangeUnavailableError,
        ccxt.NullResponse: ExchangeUnavailableError,
        ccxt.CancelPending: ExchangeUnavailableError,
        ccxt.NetworkError: ExchangeUnavailableError,
        ccxt.DDoSProtection: ExchangeRateLimitError,
        ccxt.RateLimitExceeded: ExchangeRateLimitError,
        ccxt.ExchangeNotAvailable: ExchangeUnavailableError,
        ccxt.OnMaintenance: ExchangeUnavailableError,
        ccxt.InvalidNonce: ExchangeUnavailableError,  # clock skew: a fresh nonce usually passes
        ccxt.ChecksumError: ExchangeUnavailableError,
        ccxt.RequestTimeout: ExchangeTimeoutError,
        ccxt.UnsubscribeError: ExchangeError,
    }


def viper_class(exc: BaseException) -> type[ViperError]:
    """The VIPER class for a ccxt error: the row of its most specific mapped class."""
    for cls in type(exc).__mro__:
        found = ccxt_error_table().get(cls)
        if found is not None:
            return found
    return ExchangeError


def short(exc: BaseException) -> str:
    """The error's text, cut to a readable length (ccxt puts whole response bodies in it)."""
    text = str(exc)
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


def exchange_code(exc: BaseException) -> str | None:
    """The exchange's own error code from the response body in the message, if there is one."""
    found = _CODE.search(str(exc))
    return found.group(1) if found else None


@contextmanager
def ccxt_errors(exchange_id: str, symbol: str | None = None, action: str = "") -> Iterator[None]:
    """Re-raise any ccxt error inside the block as the most specific VIPER error, chained.

    The detail names the exchange, the action and the symbol; `exchange`, `symbol` and the
    exchange's own `exchange_code` go into the error's extra fields. Credentials never appear:
    ccxt's messages carry the response body, not the request headers.
    """
    try:
        yield
    except Exception as exc:
        ccxt = sys.modules.get("ccxt")  # a ccxt error means ccxt is loaded; nothing else is ours
        if ccxt is None or not isinstance(exc, ccxt.BaseError):
            raise
        cls = viper_class(exc)
        what = " ".join(part for part in (action, symbol or "") if part)
        where = f"{exchange_id} {what}".strip()
        detail = f"{where}: {type(exc).__name__}: {short(exc)}"
        if cls is MarketNotFoundError and symbol:
            detail = f"{exchange_id} has no market {symbol!r}"
        extra: dict[str, str] = {"exchange": exchange_id}
        code = exchange_code(exc)
        if code is not None:
            extra["exchange_code"] = code
        if symbol:
            extra["symbol"] = symbol
        field = "symbol" if cls is MarketNotFoundError else None
        raise cls(detail, field=field, **extra) from exc
