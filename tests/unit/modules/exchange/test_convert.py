"""ccxt's structures as VIPER's records, checked on ccxt's own parse of recorded Bitget answers
(shared/data/bitget/ccxt-static), and the recorded markets against the built-in table."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import SHARED_DATA
from viper.domain import ExchangeOrder
from viper.modules.exchange.convert import balance_from_ccxt, order_from_ccxt, position_from_ccxt
from viper.modules.exchange.markets import DEFAULT_MARKETS, market_from_ccxt

STATIC = SHARED_DATA / "bitget" / "ccxt-static"
D = Decimal


def recorded(method: str, index: int = 0) -> Any:
    path = STATIC / "response.bitget.subset.json"
    if not path.exists():
        pytest.skip(f"recorded Bitget responses not found at {path}")
    return json.loads(path.read_text())["methods"][method][index]["parsedResponse"]


def test_a_recorded_swap_order_converts_exactly() -> None:
    order = order_from_ccxt(recorded("fetchOrder"))

    assert order.client_order_id == "1139544620049014787"
    assert order.exchange_order_id == "1139544620032237568"
    assert (order.symbol, order.side, order.type, order.status) == (
        "LTC/USDT:USDT",
        "buy",
        "market",
        "closed",
    )
    assert (order.amount, order.filled, order.average_price) == (D("0.1"), D("0.1"), D("68.74"))
    assert order.fee == D("0.0041244")
    assert order.ts_ms == 1707414529920


def test_a_recorded_reduce_only_order_keeps_the_flag() -> None:
    assert order_from_ccxt(recorded("fetchOrder", 1)).reduce_only is True


def test_a_bare_placement_answer_is_completed_from_what_was_sent() -> None:
    sent = ExchangeOrder(
        client_order_id="viper-1",
        symbol="BTC/USDT:USDT",
        side="sell",
        type="stop",
        amount=D("0.010"),
        status="open",
        stop_price=D("55000"),
    )
    answer = {"id": "42", "clientOrderId": "viper-1", "status": None, "side": None, "type": None}

    order = order_from_ccxt(answer, sent)

    assert (order.exchange_order_id, order.side, order.type, order.status) == (
        "42",
        "sell",
        "stop",
        "open",
    )
    assert (order.amount, order.stop_price) == (D("0.010"), D("55000"))


def test_a_recorded_position_converts() -> None:
    [raw] = recorded("fetchPositions")

    position = position_from_ccxt(raw)

    assert position is not None
    assert (position.symbol, position.direction, position.size) == (
        "LTC/USDT:USDT",
        "long",
        D("0.1"),
    )
    assert (position.entry_price, position.leverage, position.margin) == (
        D("72.66"),
        D(5),
        D("1.4532"),
    )
    assert position.unrealized_pnl == D("-0.004")
    assert position.liquidation_price is None


def test_an_empty_position_is_dropped() -> None:
    assert position_from_ccxt({"symbol": "BTC/USDT:USDT", "contracts": 0}) is None


def test_balance_takes_the_settlement_currency_and_unrealized_pnl() -> None:
    raw = {
        "info": [{"marginCoin": "USDT", "unrealizedPL": "-1.5"}],
        "USDT": {"free": 90.0, "used": 10.0, "total": 100.0},
    }

    balance = balance_from_ccxt(raw, "USDT")

    assert (balance.total, balance.free, balance.used, balance.unrealized_pnl) == (
        D("100.0"),
        D("90.0"),
        D("10.0"),
        D("-1.5"),
    )


@pytest.mark.parametrize("symbol", ["BTC/USDT:USDT", "ETH/USDT:USDT"])
def test_the_built_in_markets_match_bitgets_recorded_ones(symbol: str) -> None:
    path = STATIC / "markets.bitget.subset.json"
    if not path.exists():
        pytest.skip(f"recorded Bitget markets not found at {path}")
    market = market_from_ccxt(json.loads(path.read_text())[symbol])
    built_in = DEFAULT_MARKETS[symbol]

    assert (market.amount_step, market.price_step, market.min_amount) == (
        built_in.amount_step,
        built_in.price_step,
        built_in.min_amount,
    )
    assert (market.min_notional, market.max_leverage) == (
        built_in.min_notional,
        built_in.max_leverage,
    )
    assert (market.maker_fee, market.taker_fee) == (built_in.maker_fee, built_in.taker_fee)
