"""A backtest request resolved against the store, and executed: defaults, errors, sizing."""

from __future__ import annotations

from pathlib import Path

import msgspec
import polars as pl
import pytest

from tests.conftest import make_config
from viper.backtest import run_backtest
from viper.backtest.runs import (
    BacktestSpec,
    execute,
    parse_date,
    resolve,
    strategy_params,
    summarize,
)
from viper.config import Config, SignalConfig
from viper.errors import ValidationError
from viper.marketdata.synthetic import generate
from viper.protocols import BacktestRequest
from viper.store.candles import CandleStore
from viper.strategies import get_strategy

START = 1_704_067_200_000  # 2024-01-01
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def request(**fields: object) -> BacktestRequest:
    body: dict[str, object] = {
        "symbols": [BTC],
        "start_date": "2024-01-01",
        "end_date": "2024-01-02",
    }
    body.update(fields)
    return msgspec.convert(body, BacktestRequest)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def store(config: Config) -> CandleStore:
    store = CandleStore(config.store.candles_dir)
    for symbol, frame in generate([BTC, ETH], "1m", START, 3_000, seed=5).items():
        store.write("bitget", symbol, "1m", frame)
    return store


def test_parse_date_reads_dates_and_times_as_utc() -> None:
    assert parse_date("2024-01-01", "start_date") == START
    assert parse_date("2024-01-01T01:00:00Z", "start_date") == START + 3_600_000
    assert parse_date("2024-01-01T02:00:00+01:00", "x") == START + 3_600_000


def test_parse_date_names_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_date("yesterday", "end_date")
    assert caught.value.field == "end_date"


def test_viper_parameters_default_to_the_signal_config_and_the_threshold() -> None:
    signal = SignalConfig(threshold=90, lookback=30)
    params = strategy_params(get_strategy("viper"), request(score_threshold=70), signal)
    assert params["threshold"] == 70
    assert params["lookback"] == 30
    default = strategy_params(get_strategy("viper"), request(), signal)
    assert default["threshold"] == 90


def test_explicit_parameters_win_over_score_threshold() -> None:
    params = strategy_params(
        get_strategy("viper"),
        request(score_threshold=70, parameters={"threshold": 95}),
        SignalConfig(),
    )
    assert params["threshold"] == 95


def test_a_low_threshold_caps_the_default_exit_threshold() -> None:
    params = strategy_params(get_strategy("viper"), request(score_threshold=30), SignalConfig())
    assert params["threshold"] == params["exit_threshold"] == 30


def test_signal_settings_do_not_leak_into_other_strategies() -> None:
    params = strategy_params(
        get_strategy("sma_cross"),
        request(score_threshold=70, parameters={"fast": 5}),
        SignalConfig(),
    )
    assert params == {"fast": 5, "slow": 50, "allow_short": True, "sl_pct": 0.0, "tp_pct": 0.0}


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"fast": "ten"}, "parameters.fast"),
        ({"nope": 1}, "parameters.nope"),
        ({"fast": 60, "slow": 50}, "parameters.fast"),
        ({"sl_pct": 2.0}, "parameters.sl_pct"),
    ],
)
def test_bad_parameters_name_the_parameter(parameters: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        strategy_params(get_strategy("sma_cross"), request(parameters=parameters), SignalConfig())
    assert caught.value.field == field
    assert caught.value.detail.startswith(f"{field}: ")
    assert " - at " not in caught.value.detail


def test_resolve_fills_every_default(config: Config, store: CandleStore) -> None:
    spec = resolve(request(symbols=[BTC, ETH, BTC]), config, store, backtest_id="abc")
    assert spec.symbols == [BTC, ETH]
    assert spec.exchange == "bitget"
    assert spec.timeframe == config.trading.timeframe
    assert (spec.start_ms, spec.end_ms) == (START, START + 86_400_000)
    assert spec.risk == config.risk
    assert spec.bars == 2 * 1_440
    assert spec.store_root == str(store.root)


def test_resolve_applies_risk_per_trade(config: Config, store: CandleStore) -> None:
    spec = resolve(request(risk_per_trade=0.005), config, store, backtest_id="abc")
    assert spec.risk.risk_per_trade == 0.005
    assert spec.risk.max_leverage == config.risk.max_leverage


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"strategy": "nope"}, "strategy"),
        ({"parameters": {"bad": 1}}, "parameters.bad"),
        ({"timeframe": "7x"}, "timeframe"),
        ({"start_date": "01/02/2024"}, "start_date"),
        ({"end_date": "later"}, "end_date"),
        ({"end_date": "2023-12-31"}, "end_date"),
        ({"symbols": ["DOGE/USDT:USDT"]}, "symbols"),
        ({"symbols": [""]}, "symbols"),
        ({"start_date": "2025-01-01", "end_date": "2025-02-01"}, "start_date"),
        ({"start_date": "2023-01-01", "end_date": "2023-02-01"}, "end_date"),
        ({"exchange": "../etc"}, "exchange"),
    ],
)
def test_resolve_errors_name_the_field(
    config: Config, store: CandleStore, fields: dict, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        resolve(request(**fields), config, store, backtest_id="abc")
    assert caught.value.field == field


def test_a_hole_in_the_data_is_no_data_in_the_range(config: Config, tmp_path: Path) -> None:
    store = CandleStore(config.store.candles_dir)
    frame = generate([BTC], "1m", START, 4_000, seed=5)[BTC]
    store.write("bitget", BTC, "1m", pl.concat([frame.head(100), frame.slice(3_000)]))
    body = request(start_date="2024-01-01T12:00:00Z", end_date="2024-01-01T13:00:00Z")
    with pytest.raises(ValidationError) as caught:
        resolve(body, config, store, backtest_id="abc")
    assert caught.value.field == "start_date"


def test_execute_equals_run_backtest_on_the_same_candles(
    config: Config, store: CandleStore
) -> None:
    spec = resolve(request(symbols=[BTC, ETH], score_threshold=75), config, store, backtest_id="x1")
    seen: list[float] = []
    outcome = execute(spec, seen.append)
    frames = {s: store.read("bitget", s, "1m", spec.start_ms, spec.end_ms) for s in spec.symbols}
    direct = run_backtest(frames, "viper", spec.params, risk=spec.risk, timeframe="1m")
    assert outcome.result.backtest_id == "x1"
    assert outcome.engine_id == direct.backtest_id
    assert outcome.result.final_capital == direct.final_capital
    assert outcome.result.trades == direct.trades
    assert outcome.sizing == "risk"
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_a_strategy_without_stops_falls_back_to_fixed_fraction(
    config: Config, store: CandleStore
) -> None:
    spec = resolve(request(strategy="sma_cross"), config, store, backtest_id="x2")
    outcome = execute(spec)
    assert outcome.sizing == "fixed_fraction"
    assert outcome.result.total_trades > 0
    summary = summarize(spec, outcome, created_ms=1, duration_seconds=0.5)
    assert summary.settings["sizing"] == "fixed_fraction"


def test_asked_for_risk_sizing_without_stops_is_refused(config: Config, store: CandleStore) -> None:
    spec = resolve(request(strategy="sma_cross", sizing="risk"), config, store, backtest_id="x3")
    with pytest.raises(ValidationError) as caught:
        execute(spec)
    assert caught.value.field == "sizing"


def test_config_id_changes_with_the_settings(config: Config, store: CandleStore) -> None:
    def summary_for(risk: float) -> str:
        spec = resolve(request(risk_per_trade=risk), config, store, backtest_id="x")
        spec = msgspec.structs.replace(spec, bars=0)
        return summarize(spec, execute(spec), created_ms=1, duration_seconds=1).config_id

    assert summary_for(0.01) == summary_for(0.01)
    assert summary_for(0.01) != summary_for(0.02)


def test_spec_round_trips_through_msgpack(config: Config, store: CandleStore) -> None:
    spec = resolve(request(), config, store, backtest_id="abc")
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(spec), type=BacktestSpec) == spec
