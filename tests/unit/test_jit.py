"""Kernels run as plain Python (live) and compiled by numba (backtest): the same numbers."""

from __future__ import annotations

import math
import subprocess
import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viper import risk_rules as rr
from viper.backtest import fills
from viper.jit import compiled, is_kernel
from viper.strategies import sma_cross

prices = st.floats(0.0001, 1e6, allow_nan=False)
fractions = st.floats(0.0, 0.1, allow_nan=False)
sides = st.sampled_from([1, -1])
maybe_level = st.one_of(st.just(math.nan), prices)


def same(a: object, b: object) -> bool:
    """Equal, NaN equal to NaN, element by element for tuples; types of numbers ignored."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


@settings(max_examples=300, deadline=None)
@given(
    equity=prices,
    price=prices,
    distance=prices,
    side=sides,
    risk=fractions,
    taker=st.floats(0.0, 0.001),
    slippage=st.floats(0.0, 0.01),
    step=st.sampled_from([0.0, 0.001, 0.1, 1.0]),
    leverage=st.floats(1.0, 125.0),
)
def test_risk_rules_agree_compiled_and_plain(
    equity: float,
    price: float,
    distance: float,
    side: int,
    risk: float,
    taker: float,
    slippage: float,
    step: float,
    leverage: float,
) -> None:
    base_py = rr.risk_size(equity, price, distance, side, risk, taker, slippage)
    base_nb = compiled(rr.risk_size)(equity, price, distance, side, risk, taker, slippage)
    assert same(base_py, base_nb)
    args = (base_py, equity, price, leverage, 125.0, 1e6, equity, taker, 0.0, 3.0, step, 0.0, 5.0)
    assert same(rr.position_size(*args), compiled(rr.position_size)(*args))


@settings(max_examples=200, deadline=None)
@given(
    closes=st.lists(st.floats(0.01, 1e5), min_size=1, max_size=80),
    fast=st.integers(1, 5),
    slow=st.integers(6, 12),
)
def test_sma_cross_step_agrees_compiled_and_plain(
    closes: list[float], fast: int, slow: int
) -> None:
    state_py, state_nb = sma_cross.new_state(slow), sma_cross.new_state(slow)
    step_nb = compiled(sma_cross.sma_cross_step)
    for close in closes:
        out_py = sma_cross.sma_cross_step(state_py, close, fast, slow)
        out_nb = step_nb(state_nb, close, fast, slow)
        assert same(tuple(float(x) for x in out_py), tuple(float(x) for x in out_nb))
    np.testing.assert_array_equal(state_py, state_nb)


@settings(max_examples=200, deadline=None)
@given(side=sides, h=prices, lo=prices, liq=maybe_level, stop=maybe_level, tp=maybe_level)
def test_fill_rules_agree_compiled_and_plain(
    side: int, h: float, lo: float, liq: float, stop: float, tp: float
) -> None:
    assert fills.touched(side, h, lo, liq, stop, tp) == compiled(fills.touched)(
        side, h, lo, liq, stop, tp
    )
    assert same(fills.stop_of(side, stop, tp, h), compiled(fills.stop_of)(side, stop, tp, h))


def test_compiling_leaves_the_module_plain() -> None:
    dispatcher = compiled(rr.position_size)
    assert dispatcher is compiled(rr.position_size)  # one dispatcher per function
    assert isinstance(rr.position_size, types.FunctionType)
    assert is_kernel(rr.cap_size)  # the callee, compiled in the shadow, stays plain here too


def test_compiled_refuses_a_function_that_is_not_a_kernel() -> None:
    with pytest.raises(TypeError, match="not marked with @kernel"):
        compiled(rr.reason_name)


def test_the_live_path_loads_neither_numba_nor_the_mcp_sdk() -> None:
    code = (
        "import sys, viper.app, viper.config as c, viper.modules.registry as r\n"
        "r.build_modules(c.MODULE_NAMES)\n"
        "heavy = sorted(m for m in ('numba', 'mcp', 'ccxt', 'optuna') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
