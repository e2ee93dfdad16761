"""ccxt's errors at the boundary: every ccxt exception class is mapped, to the most specific
VIPER class, under the branch that says what the caller should do, chained to the cause."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest

from viper import errors
from viper.ccxt_errors import ccxt_error_table, ccxt_errors, exchange_code
from viper.errors import (
    AuthError,
    ConflictError,
    ExchangeError,
    NotFoundError,
    RejectedError,
    TemporaryError,
    ViperError,
)

CCXT_ERRORS = ccxt_error_table()


def every_ccxt_error() -> list[type[Exception]]:
    """ccxt.BaseError and every class below it, however deep."""
    found: set[type[Exception]] = set()
    todo: list[type[Exception]] = [ccxt.BaseError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize("error", every_ccxt_error(), ids=lambda c: c.__name__)
def test_every_ccxt_exception_class_has_its_own_row(error: type[Exception]) -> None:
    assert error in CCXT_ERRORS, f"ccxt.{error.__name__} is not mapped in viper.ccxt_errors"


@pytest.mark.parametrize("error", every_ccxt_error(), ids=lambda c: c.__name__)
def test_each_maps_to_its_row_chained_and_inside_the_exchange_family(
    error: type[Exception],
) -> None:
    with pytest.raises(ViperError) as caught, ccxt_errors("bitget", "BTC/USDT:USDT", "fetch"):
        raise error("bitget boom")

    assert type(caught.value) is CCXT_ERRORS[error]
    assert isinstance(caught.value, ExchangeError)
    assert caught.value.__cause__.__class__ is error
    assert caught.value.extra["exchange"] == "bitget"


@pytest.mark.parametrize(
    ("error", "branch"),
    [
        (ccxt.AuthenticationError, AuthError),
        (ccxt.PermissionDenied, AuthError),
        (ccxt.InsufficientFunds, RejectedError),
        (ccxt.InvalidOrder, RejectedError),
        (ccxt.OrderImmediatelyFillable, RejectedError),
        (ccxt.BadRequest, RejectedError),
        (ccxt.RateLimitExceeded, TemporaryError),
        (ccxt.DDoSProtection, TemporaryError),
        (ccxt.NetworkError, TemporaryError),
        (ccxt.RequestTimeout, TemporaryError),
        (ccxt.OnMaintenance, TemporaryError),
        (ccxt.OrderNotFound, NotFoundError),
        (ccxt.BadSymbol, NotFoundError),
        (ccxt.DuplicateOrderId, ConflictError),
    ],
)
def test_each_lands_under_the_branch_that_says_what_to_do(
    error: type[Exception], branch: type[ViperError]
) -> None:

    assert issubclass(CCXT_ERRORS[error], branch)


def test_every_ccxt_operation_failure_is_temporary_and_nothing_else_is() -> None:
    for error, mapped in CCXT_ERRORS.items():
        assert issubclass(mapped, TemporaryError) == issubclass(error, ccxt.OperationFailed), error


def test_exchange_classes_have_a_status_and_a_unique_code() -> None:
    classes = {
        c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, ExchangeError)
    }
    codes = [c.code for c in classes]
    assert len(classes) == 15
    assert len(set(codes)) == len(codes)
    assert all(400 <= c.status < 600 for c in classes)


def test_the_exchanges_own_code_is_kept() -> None:
    body = '{"code":"40786","msg":"Duplicate clientOid","requestTime":1,"data":null}'
    with pytest.raises(ExchangeError) as caught, ccxt_errors("bitget", "BTC/USDT:USDT"):
        raise ccxt.DuplicateOrderId(f"bitget {body}")

    assert exchange_code(caught.value.__cause__) == "40786"  # type: ignore[arg-type]
    assert caught.value.extra["exchange_code"] == "40786"
    assert caught.value.to_dict()["error"] == "duplicate_order"


def test_an_unknown_market_names_the_symbol_and_field() -> None:
    with pytest.raises(NotFoundError) as caught, ccxt_errors("bitget", "DOGE/USDT:USDT"):
        raise ccxt.BadSymbol("bitget does not have market symbol DOGE/USDT:USDT")

    assert caught.value.field == "symbol"
    assert "DOGE/USDT:USDT" in caught.value.detail
