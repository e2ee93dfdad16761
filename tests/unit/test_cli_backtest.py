"""`viper backtest` argument handling: parameters, flags named in errors."""

from __future__ import annotations

import pytest

from viper.cli import build_parser
from viper.cli_backtest import flag_error, parse_param, raw_request
from viper.errors import ValidationError


def test_param_values_are_json_when_they_are_json() -> None:
    assert parse_param("fast=10") == ("fast", 10)
    assert parse_param("sl_pct=0.02") == ("sl_pct", 0.02)
    assert parse_param("allow_short=false") == ("allow_short", False)
    assert parse_param("name=abc") == ("name", "abc")


def test_param_without_a_value_is_an_error() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_param("fast")
    assert caught.value.field == "parameters"


def test_flags_become_the_api_request() -> None:
    args = build_parser().parse_args(
        [
            "backtest",
            "--symbols",
            "A/USDT:USDT, B/USDT:USDT",
            "--start",
            "2025-01-01",
            "--end",
            "2025-02-01",
            "--risk",
            "0.01",
            "--param",
            "fast=5",
            "--param",
            "slow=20",
        ]
    )
    raw = raw_request(args)
    assert raw["symbols"] == ["A/USDT:USDT", "B/USDT:USDT"]
    assert raw["risk_per_trade"] == "0.01"
    assert raw["parameters"] == {"fast": 5, "slow": 20}
    assert raw["strategy"] == "viper"
    assert "score_threshold" not in raw


@pytest.mark.parametrize(
    ("field", "flag"),
    [
        ("start_date", "--start"),
        ("end_date", "--end"),
        ("initial_capital", "--capital"),
        ("parameters.fast", "--param fast"),
        ("symbols", "--symbols"),
    ],
)
def test_errors_name_the_flag(field: str, flag: str) -> None:
    error = flag_error(ValidationError(f"{field}: went wrong", field=field))
    assert error.detail == f"{flag}: went wrong"
