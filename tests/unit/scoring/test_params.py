"""ScoreParams: defaults from the config, and refusal of settings that cannot score."""

from __future__ import annotations

import pytest

from viper.config import SignalConfig
from viper.errors import ValidationError
from viper.scoring import ScoreParams
from viper.scoring.kernel import P_HTF, P_LOOKBACK, P_W_EXTERNAL, P_W_VOLUME


def test_from_config_copies_the_signal_section() -> None:
    config = SignalConfig(threshold=70.0, lookback=30, weight_volume=2.0, weight_external=0.5)
    params = ScoreParams.from_config(config, htf_factor=6)
    assert params.lookback == 30 and params.threshold == 70.0 and params.htf_factor == 6
    assert params.weight_volume == 2.0 and params.weight_external == 0.5
    vector = params.as_array()
    assert vector[P_LOOKBACK] == 30 and vector[P_HTF] == 6
    assert vector[P_W_VOLUME] == 2.0 and vector[P_W_EXTERNAL] == 0.5


def test_defaults_match_the_design() -> None:
    params = ScoreParams.from_config(SignalConfig())
    assert params == ScoreParams(lookback=20, threshold=85.0, htf_factor=4)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lookback": 1}, "lookback"),
        ({"threshold": 101.0}, "threshold"),
        ({"htf_factor": 0}, "htf_factor"),
        ({"weight_price": -1.0}, "weight_price"),
        ({"weight_range": float("nan")}, "weight_range"),
        (
            {
                "weight_volume": 0.0,
                "weight_price": 0.0,
                "weight_range": 0.0,
                "weight_external": 0.0,
            },
            "weights",
        ),
    ],
)
def test_refuses_settings_that_cannot_score(changes: dict[str, float], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ScoreParams(**changes)  # type: ignore[arg-type]
    assert caught.value.field == field
