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
    +-- ExchangeError (502)         the exchange refused or failed (subclasses: exchange module)

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
