"""The strategy registry and parameter validation: errors name the field or parameter."""

from __future__ import annotations

import pytest

from viper.config import SignalConfig
from viper.errors import ValidationError
from viper.strategies import STRATEGIES, get_strategy
from viper.strategies.sma_cross import SmaCrossParams


def test_registry_lists_the_built_in_strategies_by_name() -> None:
    assert {"sma_cross", "viper"} <= set(STRATEGIES)
    for name, strategy in STRATEGIES.items():
        assert get_strategy(name) is strategy
        assert strategy.params() == strategy.Params()
        assert strategy.params(strategy.defaults()) == strategy.Params()


def test_unknown_strategy_is_a_validation_error_on_field_strategy() -> None:
    with pytest.raises(ValidationError) as caught:
        get_strategy("moonshot")

    assert caught.value.field == "strategy"
    assert "sma_cross" in caught.value.detail


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("sma_cross", {"fats": 5}, "fats"),
        ("sma_cross", {"fast": "ten"}, "fast"),
        ("sma_cross", {"slow": 0}, "slow"),
        ("sma_cross", {"fast": 50, "slow": 20}, "fast"),
        ("sma_cross", {"sl_pct": 1.5}, "sl_pct"),
        ("viper", {"threshold": 101}, "threshold"),
        ("viper", {"exit_threshold": 90, "threshold": 80}, "exit_threshold"),
        ("viper", {"sl_atr": -1}, "sl_atr"),
        ("viper", {"lookback": 1}, "lookback"),
        ("viper", {"allow_short": "yes"}, "allow_short"),
        ("viper", {"bogus": 1}, "bogus"),
    ],
)
def test_bad_parameters_name_the_parameter(name: str, params: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        get_strategy(name).params(params)

    assert caught.value.field == field


def test_all_zero_score_weights_are_refused() -> None:
    zero = {f"weight_{c}": 0.0 for c in ("volume", "price", "range", "external")}

    with pytest.raises(ValidationError):
        get_strategy("viper").params(zero)


def test_params_that_are_not_an_object_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        get_strategy("sma_cross").params([1, 2])  # type: ignore[arg-type]

    assert caught.value.field == "params"


def test_viper_defaults_come_from_the_signal_config() -> None:
    params = get_strategy("viper").params()
    signal = SignalConfig()

    assert (params.threshold, params.lookback) == (signal.threshold, signal.lookback)
    assert (params.sl_atr, params.tp_atr, params.trailing_atr) == (1.5, 3.0, 0.0)


def test_params_are_frozen_and_typed() -> None:
    params = get_strategy("sma_cross").params({"fast": 5})

    assert isinstance(params, SmaCrossParams) and params.fast == 5 and params.slow == 50
    with pytest.raises(AttributeError):
        params.fast = 7  # type: ignore[misc]
