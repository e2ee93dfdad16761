"""The pre-trade risk rules: sizing at the stop, caps, rounding, and entry gates with reasons."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viper import risk_rules as rr
from viper.config import RiskConfig
from viper.risk_rules import MarketSpec, RiskRules

TAKER = 0.0006


def loss_at_stop(size: float, price: float, distance: float, side: int, slip: float) -> float:
    """What the position loses if its stop fills: move, slippage, entry and exit fees."""
    stop = price - side * distance
    stop_fill = stop * (1 - side * slip)
    return size * (side * (price - stop_fill) + TAKER * price + TAKER * stop_fill)


def test_size_loses_exactly_the_risk_budget_at_the_stop() -> None:
    rules = RiskRules(config=RiskConfig(risk_per_trade=0.01))
    sizing = rules.size(equity=10_000, price=100, stop_distance=2, side=1, available_margin=10_000)

    assert sizing.reason is None
    assert loss_at_stop(sizing.size, 100, 2, 1, 0.0) == pytest.approx(100.0)


@settings(max_examples=300, deadline=None)
@given(
    equity=st.floats(100, 1e7),
    price=st.floats(0.001, 1e5),
    distance_pct=st.floats(0.0005, 0.5),
    side=st.sampled_from([1, -1]),
    risk=st.floats(0.001, 0.1),
    leverage=st.integers(1, 125),
    slip=st.floats(0.0, 0.005),
    step=st.sampled_from([0.0, 0.001, 1.0]),
)
def test_loss_at_stop_never_exceeds_the_budget_and_notional_never_the_caps(
    equity: float,
    price: float,
    distance_pct: float,
    side: int,
    risk: float,
    leverage: int,
    slip: float,
    step: float,
) -> None:
    config = RiskConfig(risk_per_trade=risk, max_leverage=leverage, max_notional_per_symbol=1e6)
    distance = price * distance_pct
    sizing = RiskRules(config=config).size(
        equity=equity,
        price=price,
        stop_distance=distance,
        side=side,
        available_margin=equity,
        taker_fee=TAKER,
        slippage=slip,
        market=MarketSpec(amount_step=step),
    )

    if sizing.reason is not None:
        assert sizing.size == 0.0
        return
    notional = sizing.size * price
    assert loss_at_stop(sizing.size, price, distance, side, slip) <= risk * equity * (1 + 1e-9)
    assert notional <= leverage * equity * (1 + 1e-9)
    assert notional <= 1e6 * (1 + 1e-9)
    assert notional * (1 / leverage + TAKER) <= equity * (1 + 1e-9)
    if step:
        assert math.isclose(sizing.size / step, round(sizing.size / step), abs_tol=1e-6)


def test_size_is_rounded_down_to_the_amount_step() -> None:
    sizing = RiskRules().size(
        equity=10_000,
        price=100,
        stop_distance=3,
        side=1,
        available_margin=10_000,
        market=MarketSpec(amount_step=0.5),
    )

    assert sizing.size == 64.0  # 200 / (3 + 0.0006 * (100 + 97)) = 64.1..., down to a 0.5 step


def test_refusals_carry_stable_reasons() -> None:
    rules = RiskRules(config=RiskConfig(risk_per_trade=0.01, max_leverage=5))
    base = {"equity": 1_000.0, "price": 100.0, "stop_distance": 2.0, "side": 1}

    tiny = rules.size(**base, available_margin=1_000.0, market=MarketSpec(min_amount=10.0))
    assert tiny.reason == "risk_per_trade_too_small"
    small = rules.size(**base, available_margin=1_000.0, market=MarketSpec(min_notional=1_000))
    assert small.reason == "below_min_notional"
    assert rules.size(**base, available_margin=0.0).reason == "insufficient_margin"
    assert rules.size(**base, available_margin=1_000.0, leverage=10).reason == "leverage"
    full = rules.size(**base, available_margin=1_000.0, exposure=3_000.0)  # 3 x equity used
    assert (full.size, full.reason) == (0.0, "max_exposure")


def test_a_cap_that_binds_is_the_reason_when_the_size_ends_up_too_small() -> None:
    rules = RiskRules(config=RiskConfig(max_total_exposure=1.0))
    sizing = rules.size(
        equity=1_000.0,
        price=100.0,
        stop_distance=1.0,
        side=1,
        available_margin=1_000.0,
        exposure=1_000.0,
        market=MarketSpec(min_amount=0.1),
    )

    assert (sizing.size, sizing.reason) == (0.0, "max_exposure")


def test_no_stop_distance_cannot_be_risk_sized() -> None:
    sizing = RiskRules().size(
        equity=1_000.0, price=100.0, stop_distance=math.nan, side=1, available_margin=1_000.0
    )

    assert sizing.reason == "no_stop_distance"


def test_entry_gate_reasons_in_priority_order() -> None:
    rules = RiskRules(config=RiskConfig(max_open_positions=2))

    assert rules.gate(open_positions=1, daily_blocked=False, halted=False) is None
    assert rules.gate(open_positions=2, daily_blocked=False, halted=False) == "max_open_positions"
    assert rules.gate(open_positions=0, daily_blocked=True, halted=False) == "daily_loss_limit"
    assert rules.gate(open_positions=0, daily_blocked=True, halted=True) == "kill_switch"


def test_daily_loss_limit_triggers_at_the_limit() -> None:
    rules = RiskRules(config=RiskConfig(daily_loss_limit=0.03))

    assert not rules.daily_loss_hit(day_start_equity=10_000, equity=9_701)
    assert rules.daily_loss_hit(day_start_equity=10_000, equity=9_700)


def test_kill_switch_triggers_at_the_drawdown_from_the_peak() -> None:
    rules = RiskRules(config=RiskConfig(max_drawdown=0.15))

    assert not rules.kill_switch_hit(equity=8_501, peak_equity=10_000)
    assert rules.kill_switch_hit(equity=8_500, peak_equity=10_000)
    assert RiskRules(config=RiskConfig(max_drawdown=1.0)).kill_switch_hit(equity=0, peak_equity=1)


def test_fixed_fraction_spends_the_fraction_including_the_entry_fee() -> None:
    size = rr.fixed_fraction_size(10_000.0, 100.0, 0.5, TAKER)

    assert size * 100 * (1 + TAKER) == pytest.approx(5_000)


def test_every_reason_code_has_a_name() -> None:
    codes = [getattr(rr, n) for n in dir(rr) if n.isupper() and isinstance(getattr(rr, n), int)]
    names = {rr.reason_name(code) for code in codes if code < len(rr.REASONS)}

    assert len(names) == len(rr.REASONS)
    assert {"max_open_positions", "daily_loss_limit", "kill_switch", "max_exposure"} <= names
