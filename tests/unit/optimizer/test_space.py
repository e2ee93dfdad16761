"""Search spaces: the default grids, conditions, and bad input named by field."""

from __future__ import annotations

import pytest

from viper.errors import ValidationError
from viper.optimizer.space import (
    CategoricalParam,
    Condition,
    FloatParam,
    IntParam,
    SearchSpace,
    check,
    default_space,
    merge,
    stops_always_set,
)
from viper.strategies import get_strategy


def test_sma_cross_default_grid_keeps_only_slow_above_fast() -> None:
    space = default_space("sma_cross").space
    combos = list(space.grid())
    assert space.size() == 100
    assert len(combos) == 90
    assert all(c["slow"] > c["fast"] for c in combos)
    assert {c["fast"] for c in combos} == set(range(5, 51, 5))
    assert {c["slow"] for c in combos} == set(range(20, 201, 20))


def test_viper_default_space_declares_the_five_parameters_and_is_valid() -> None:
    declared = default_space("viper")
    assert set(declared.space.params) == {
        "threshold",
        "lookback",
        "sl_atr",
        "tp_atr",
        "exit_threshold",
    }
    check(declared.space, get_strategy("viper"), {})
    assert declared.space.size() is not None and declared.space.size() > 20_000


@pytest.mark.parametrize(
    ("param", "message"),
    [
        (IntParam(low=50, high=5), "inverted range"),
        (IntParam(low=5, high=50, step=0), "step must be > 0"),
        (FloatParam(low=0.1, high=0.5, step=-0.1), "step must be > 0"),
        (FloatParam(low=0.0, high=1.0, log=True), "log scale needs low > 0"),
        (CategoricalParam(choices=[]), "empty choices"),
    ],
)
def test_bad_ranges_name_the_parameter(param: object, message: str) -> None:
    space = merge(default_space("sma_cross").space, {"fast": param})  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match=message) as caught:
        check(space, get_strategy("sma_cross"), {})
    assert caught.value.field == "space.fast"


def test_unknown_parameter_is_named() -> None:
    space = merge(default_space("sma_cross").space, {"speed": IntParam(low=1, high=2)})
    with pytest.raises(ValidationError, match="no such parameter") as caught:
        check(space, get_strategy("sma_cross"), {})
    assert caught.value.field == "space.speed"


def test_condition_on_unknown_parameter_is_named() -> None:
    space = SearchSpace(
        params={"fast": IntParam(low=5, high=10)},
        conditions=[Condition(left="fast", op="<", right="slowest")],
    )
    with pytest.raises(ValidationError) as caught:
        check(space, get_strategy("sma_cross"), {})
    assert caught.value.field == "space.conditions"


def test_empty_space_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        check(SearchSpace(params={}), get_strategy("sma_cross"), {})
    assert caught.value.field == "space"


def test_float_without_step_cannot_be_a_grid() -> None:
    space = SearchSpace(params={"sl_pct": FloatParam(low=0.01, high=0.05)})
    assert space.size() is None
    with pytest.raises(ValidationError, match="without a step") as caught:
        list(space.grid())
    assert caught.value.field == "space.sl_pct"


def test_merge_replaces_adds_and_removes_parameters() -> None:
    base = default_space("sma_cross").space
    merged = merge(
        base,
        {
            "fast": IntParam(low=5, high=15, step=5),
            "sl_pct": FloatParam(low=0.01, high=0.02, step=0.01),
        },
    )
    assert merged.params["fast"] == IntParam(low=5, high=15, step=5)
    assert "sl_pct" in merged.params and merged.conditions == base.conditions
    removed = merge(base, {"fast": None})
    assert list(removed.params) == ["slow"] and removed.conditions == []


def test_float_grid_values_land_on_the_steps() -> None:
    space = SearchSpace(params={"sl_pct": FloatParam(low=0.01, high=0.03, step=0.005)})
    assert [v["sl_pct"] for v in space.grid()] == [0.01, 0.015, 0.02, 0.025, 0.03]
    assert space.snap({"sl_pct": 0.0224}) == {"sl_pct": 0.02}
    assert space.snap({"sl_pct": 0.5}) == {"sl_pct": 0.03}


def test_risk_sizing_needs_a_stop_in_every_combination() -> None:
    declared = default_space("sma_cross")
    assert not stops_always_set(declared, declared.space, {})
    assert stops_always_set(declared, declared.space, {"sl_pct": 0.01})
    with_stop = merge(declared.space, {"sl_pct": FloatParam(low=0.01, high=0.05, step=0.01)})
    assert stops_always_set(declared, with_stop, {})
    assert stops_always_set(default_space("viper"), default_space("viper").space, {})
