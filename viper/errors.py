"""The VIPER error family: every error a caller can act on, grouped by what to do.

    ViperError                      base; HTTP 500, code "internal"
    +-- ConfigError                 a person must fix the configuration; the process will not start
    +-- RejectedError (422)         this request or trade is refused; do not retry unchanged
    |   +-- ValidationError (422)   malformed or out-of-range input; names the field
    |   +-- BadRequestError (400)   the request body could not be read at all
    |   +-- RiskError (422)         a risk limit refused the trade (carries a reason code)
    |   +-- TradingError (422)      the trading engine refused the action
    +-- AuthError (401)             missing, malformed, expired or revoked credentials
    |   +-- ForbiddenError (403)    authenticated, but the scope does not allow this
    +-- NotFoundError (404)         the named thing does not exist
    +-- ConflictError (409)         the state does not allow this now (duplicate, already running)
    +-- TemporaryError (503)        retry later with backoff
    |   +-- APIError (503)          a remote API failed in a way worth retrying
    +-- NotImplementedYetError (501)  the route exists but its behaviour is not built
    +-- DataError (422)             market data missing, corrupt or inconsistent
    +-- ExchangeError (502)         the exchange refused or failed; each subclass also sits
        |                           under the branch that says what to do:
        +-- ExchangeUnavailableError (503, + APIError)  network, 5xx, maintenance, garbled answer
        |   +-- ExchangeTimeoutError (504)    no answer in time: the request may have been executed
        |   +-- ExchangeRateLimitError (429)  throttled; wait, then retry
        +-- ExchangeAuthError (401, + AuthError)        the exchange refused the credentials
        |   +-- ExchangePermissionError (403, + ForbiddenError)  key scope, suspended, region
        +-- ExchangeRejectedError (422, + RejectedError)  the exchange refused the request
        |   +-- InsufficientFundsError (422)  balance or margin too small
        |   +-- InvalidOrderError (422)       size, price or type not acceptable
        |       +-- PostOnlyRejectedError (422)    a post-only order would take liquidity
        |       +-- ReduceOnlyRejectedError (422)  a reduce-only order would not reduce
        +-- OrderNotFoundError (404, + NotFoundError)   no order with that id
        +-- MarketNotFoundError (404, + NotFoundError)  no such market on the exchange
        +-- DuplicateOrderError (409, + ConflictError)  that client order id was already used
        +-- ExchangeNotSupportedError (501)             the exchange does not offer the call

`status` is the HTTP status a handler returns; `code` is a stable machine-readable name.
Messages never carry secrets.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ViperError(Exception):
    """Base of every error VIPER raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        """The JSON body an HTTP handler returns for this error."""
        body: dict[str, Any] = {"error": self.code, "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return body


class ConfigError(ViperError):
    """The configuration is wrong; a person must fix it before VIPER starts."""

    status = 500
    code = "config_error"


class RejectedError(ViperError):
    """The request or trade is refused; retrying it unchanged will fail again."""

    status = 422
    code = "rejected"


class ValidationError(RejectedError):
    """Input is malformed or out of range; `field` names the culprit."""

    code = "validation_error"


class BadRequestError(RejectedError):
    """The request could not be read at all (for example, a body that is not JSON)."""

    status = 400
    code = "bad_request"


class RiskError(RejectedError):
    """A risk limit refused the trade; `reason` says which."""

    code = "risk_rejected"


class TradingError(RejectedError):
    """The trading engine refused the action."""

    code = "trading_error"


class AuthError(ViperError):
    """Credentials are missing, malformed, expired or revoked."""

    status = 401
    code = "unauthorized"


class ForbiddenError(AuthError):
    """The credentials are valid but their scope does not allow this."""

    status = 403
    code = "forbidden"


class NotFoundError(ViperError):
    """The named thing does not exist."""

    status = 404
    code = "not_found"


class ConflictError(ViperError):
    """The current state does not allow this (duplicate, already running, halted)."""

    status = 409
    code = "conflict"


class TemporaryError(ViperError):
    """A passing fault; retry with backoff."""

    status = 503
    code = "temporarily_unavailable"


class APIError(TemporaryError):
    """A remote API failed in a way worth retrying."""

    code = "api_error"


class NotImplementedYetError(ViperError):
    """The route exists, but its behaviour is not built in this version."""

    status = 501
    code = "not_implemented"


class DataError(ViperError):
    """Market data is missing, corrupt or inconsistent."""

    status = 422
    code = "data_error"


class ExchangeError(ViperError):
    """The exchange refused or failed the request."""

    status = 502
    code = "exchange_error"


# --- the exchange's errors: ExchangeError plus the branch that says what to do ---------------


class ExchangeUnavailableError(ExchangeError, APIError):
    """The exchange could not be reached or answered garbage; retry with backoff."""

    status = 503
    code = "exchange_unavailable"


class ExchangeTimeoutError(ExchangeUnavailableError):
    """No answer in time: the exchange may or may not have executed the request."""

    status = 504
    code = "exchange_timeout"


class ExchangeRateLimitError(ExchangeUnavailableError):
    """The exchange throttled us; wait (`retry_after` when known), then retry."""

    status = 429
    code = "exchange_rate_limited"


class ExchangeAuthError(ExchangeError, AuthError):
    """The exchange refused the API credentials (missing, wrong, expired or rotated)."""

    status = 401
    code = "exchange_auth_failed"


class ExchangePermissionError(ExchangeAuthError, ForbiddenError):
    """The credentials work but may not do this (key scope, suspended account, region)."""

    status = 403
    code = "exchange_forbidden"


class ExchangeRejectedError(ExchangeError, RejectedError):
    """The exchange refused the request; sending it unchanged will fail again."""

    status = 422
    code = "exchange_rejected"


class InsufficientFundsError(ExchangeRejectedError):
    """The balance or free margin does not cover the order."""

    code = "insufficient_funds"


class InvalidOrderError(ExchangeRejectedError):
    """The order's size, price or type is not acceptable on this market."""

    code = "invalid_order"


class PostOnlyRejectedError(InvalidOrderError):
    """A post-only order would have taken liquidity, so it was refused."""

    code = "post_only_rejected"


class ReduceOnlyRejectedError(InvalidOrderError):
    """A reduce-only order would open or grow a position, so it was refused."""

    code = "reduce_only_rejected"


class OrderNotFoundError(ExchangeError, NotFoundError):
    """The exchange has no order with that id."""

    status = 404
    code = "order_not_found"


class MarketNotFoundError(ExchangeError, NotFoundError):
    """The exchange has no such market."""

    status = 404
    code = "market_not_found"


class DuplicateOrderError(ExchangeError, ConflictError):
    """The client order id was already used for another order."""

    status = 409
    code = "duplicate_order"


class ExchangeNotSupportedError(ExchangeError):
    """The exchange (or its ccxt client) does not offer this call."""

    status = 501
    code = "exchange_not_supported"
