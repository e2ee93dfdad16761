"""Position arithmetic on fills, in exact Decimals."""

from __future__ import annotations

from decimal import Decimal as D

from viper.domain import Position
from viper.modules.order.positions import PositionBook, adopt, apply_fill

SYMBOL = "BTC/USDT:USDT"


def flat() -> PositionBook:
    return PositionBook(symbol=SYMBOL)


def test_increase_averages_the_entry_price() -> None:
    book = apply_fill(flat(), "buy", D("1"), D("100"), D("0.06"), 1)
    book = apply_fill(book, "buy", D("3"), D("104"), D("0.18"), 2)
    assert book.size == D("4")
    assert book.entry_price == D("103")
    assert book.realized_pnl == D(0)
    assert book.fees == D("0.24")
    assert book.net_pnl == D("-0.24")


def test_partial_reduce_realizes_pnl_and_keeps_the_entry() -> None:
    book = apply_fill(flat(), "buy", D("2"), D("100"), D("0.1"), 1)
    book = apply_fill(book, "sell", D("0.5"), D("110.5"), D("0.03"), 2)
    assert book.size == D("1.5")
    assert book.entry_price == D("100")
    assert book.realized_pnl == D("5.25")
    assert book.fees == D("0.13")
    assert book.net_pnl == D("5.12")


def test_close_goes_flat_with_zero_entry() -> None:
    book = apply_fill(flat(), "sell", D("1"), D("100"), D("0"), 1)
    book = apply_fill(book, "buy", D("1"), D("90"), D("0"), 2)
    assert book.size == D(0)
    assert book.entry_price == D(0)
    assert book.realized_pnl == D("10")


def test_flip_realizes_the_old_side_and_opens_the_new_at_the_fill_price() -> None:
    book = apply_fill(flat(), "buy", D("1"), D("100"), D("0.05"), 1)
    book = apply_fill(book, "sell", D("3"), D("95"), D("0.15"), 2)
    assert book.size == D("-2")
    assert book.entry_price == D("95")
    assert book.realized_pnl == D("-5")
    assert book.fees == D("0.20")
    position = book.to_position()
    assert position.direction == "short"
    assert position.size == D("2")
    assert position.realized_pnl == D("-5.20")


def test_short_increase_and_reduce() -> None:
    book = apply_fill(flat(), "sell", D("1"), D("200"), D("0"), 1)
    book = apply_fill(book, "sell", D("1"), D("210"), D("0"), 2)
    assert book.size == D("-2")
    assert book.entry_price == D("205")
    book = apply_fill(book, "buy", D("1"), D("200"), D("0"), 3)
    assert book.size == D("-1")
    assert book.realized_pnl == D("5")


def test_no_float_rounding_creeps_in() -> None:
    book = flat()
    for _ in range(10):
        book = apply_fill(book, "buy", D("0.1"), D("0.1"), D("0.0001"), 1)
    assert book.size == D("1.0")
    assert book.entry_price == D("0.1")
    assert book.fees == D("0.0010")


def test_adopting_takes_the_exchange_size_and_keeps_pnl() -> None:
    book = apply_fill(flat(), "buy", D("1"), D("100"), D("0.1"), 1)
    book = apply_fill(book, "sell", D("1"), D("120"), D("0.1"), 2)
    exchange = Position(symbol=SYMBOL, direction="short", size=D("0.7"), entry_price=D("118"))
    adopted = adopt(book, exchange, 3)
    assert adopted.size == D("-0.7")
    assert adopted.entry_price == D("118")
    assert adopted.adopted
    assert adopted.realized_pnl == D("20")
    assert adopted.fees == D("0.2")
