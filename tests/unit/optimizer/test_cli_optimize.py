"""`viper optimize` flags: the space shorthand and the request they describe."""

from __future__ import annotations

import pytest

from viper.cli import build_parser
from viper.cli_optimize import parse_space, raw_request
from viper.errors import ValidationError


def test_space_shorthands() -> None:
    assert parse_space("fast=5:50:5") == ("fast", {"type": "int", "low": 5, "high": 50, "step": 5})
    assert parse_space("sl_pct=0.01:0.05") == (
        "sl_pct",
        {"type": "float", "low": 0.01, "high": 0.05},
    )
    assert parse_space("allow_short=true,false") == (
        "allow_short",
        {"type": "categorical", "choices": [True, False]},
    )
    assert parse_space("fast=none") == ("fast", None)
    assert parse_space('slow={"type": "int", "low": 20, "high": 40}')[1]["high"] == 40


def test_bad_space_flag_names_it() -> None:
    with pytest.raises(ValidationError, match="--space fast"):
        parse_space("fast=abc")


def test_flags_become_a_request() -> None:
    args = build_parser().parse_args(
        [
            "optimize",
            "--symbols",
            "BTC/USDT:USDT",
            "--start",
            "2024-01-01",
            "--end",
            "2024-02-01",
            "--method",
            "walk_forward",
            "--windows",
            "4",
            "--anchored",
            "--min-trades",
            "5",
            "--space",
            "fast=5:20:5",
            "--param",
            "sl_pct=0.01",
            "--objective",
            "sortino",
        ]
    )
    raw = raw_request(args)
    assert raw["walk_forward"] == {"windows": "4", "anchored": True}
    assert raw["constraints"] == {"min_trades": "5"}
    assert raw["parameters"] == {"sl_pct": 0.01}
    assert raw["objective"] == "sortino" and raw["method"] == "walk_forward"
