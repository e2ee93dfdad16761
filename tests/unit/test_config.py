"""Config: defaults, environment overrides, one-line errors naming the key, masking."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from viper.config import (
    LEGACY_ENV,
    Config,
    Secret,
    config_id,
    dump_json,
    load_config,
    parse_config,
    secret_values,
)
from viper.config_toml import render_toml
from viper.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_defaults_are_paper_trading_on_loopback() -> None:
    config = Config()
    assert config.exchange.mode == "paper"
    assert config.server.host == "127.0.0.1"
    assert config.server.port == 8000
    assert config.bus.backend == "memory"
    assert config.redis.url == ""
    assert len(config.modules.enabled) == 17


def test_repository_config_toml_documents_every_key_at_its_default() -> None:
    text = (REPO / "config.toml").read_text()
    assert text == render_toml(), "config.toml drifted: regenerate with `viper config defaults`"
    for section in msgspec.structs.fields(Config):
        for fld in msgspec.structs.fields(section.type):
            assert f"\n{fld.name} = " in text, f"{section.name}.{fld.name} missing"


def test_repository_config_toml_loads_to_the_defaults() -> None:
    loaded = load_config(REPO / "config.toml", {})
    assert config_id(loaded) == config_id(parse_config({}, {}))


@pytest.mark.parametrize(
    ("env", "section", "key", "expected"),
    [
        ("RISK_PER_TRADE", "risk", "risk_per_trade", 0.01),
        ("MAX_LEVERAGE", "risk", "max_leverage", 5),
        ("VIPER_THRESHOLD", "signal", "threshold", 90.0),
        ("API_SERVER_PORT", "server", "port", 9001),
        ("BACKTEST_WORKERS", "backtester", "workers", 4),
        ("CACHE_TTL_SECONDS", "cache", "ttl_seconds", 120),
        ("LOG_LEVEL", "logging", "level", "DEBUG"),
        ("DEBUG_MODE", "server", "debug", True),
    ],
)
def test_original_environment_names_override_their_keys(
    env: str, section: str, key: str, expected: object
) -> None:
    raw = {True: "true"}.get(expected, str(expected)) if expected is True else str(expected)
    config = parse_config({}, {env: raw})
    assert getattr(getattr(config, section), key) == expected


def test_every_original_name_maps_to_an_existing_key() -> None:
    config = Config()
    for section, key in LEGACY_ENV.values():
        assert hasattr(getattr(config, section), key)


def test_bitget_credentials_from_env_become_masked_secrets() -> None:
    config = parse_config(
        {},
        {
            "BITGET_API_KEY": "key-123456",
            "BITGET_API_SECRET": "sec-abcdef",
            "BITGET_API_PASSWORD": "pw-9876",
        },
    )
    assert config.exchange.api_key.reveal() == "key-123456"
    assert "key-123456" not in repr(config)
    dumped = dump_json(config).decode()
    assert "key-123456" not in dumped and "sec-abcdef" not in dumped and "pw-9876" not in dumped
    assert '"api_key": "***"' in dumped
    assert sorted(secret_values(config)) == ["key-123456", "pw-9876", "sec-abcdef"]


def test_generic_form_sets_any_key_and_splits_lists() -> None:
    config = parse_config(
        {},
        {
            "VIPER__SERVER__PORT": "9100",
            "VIPER__TRADING__SYMBOLS": "BTC/USDT:USDT, ETH/USDT:USDT",
            "VIPER__MODULES__ENABLED": '["api", "risk"]',
        },
    )
    assert config.server.port == 9100
    assert config.trading.symbols == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert config.modules.enabled == ["api", "risk"]


def test_environment_beats_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[server]\nport = 8100\n")
    assert load_config(path, {"API_SERVER_PORT": "8200"}).server.port == 8200


@pytest.mark.parametrize(
    ("data", "env", "message"),
    [
        (
            {"server": {"port": "eighty"}},
            {},
            "server.port: expected `int`, got `str` (from test.toml)",
        ),
        ({"server": {"prot": 8000}}, {}, "server.prot: unknown key (from test.toml)"),
        ({"sever": {}}, {}, "sever: unknown key (from test.toml)"),
        ({"risk": {"risk_per_trade": 0.5}}, {}, "risk.risk_per_trade: expected `float` <= 0.1"),
        ({}, {"RISK_PER_TRADE": "abc"}, "(from RISK_PER_TRADE)"),
        ({}, {"VIPER__SERVER": "1"}, "VIPER__SERVER: expected the form VIPER__SECTION__KEY"),
        (
            {"modules": {"enabled": ["api", "rsik"]}},
            {},
            "modules.enabled.1: invalid enum value 'rsik'",
        ),
        ({"server": 5}, {}, "server: expected `object`, got `int`"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(data: dict, env: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, env, "test.toml")
    assert message in info.value.detail
    assert "\n" not in info.value.detail


def test_broken_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[server]\nport = = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(path) in info.value.detail and "line 2" in info.value.detail


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml", {})


def test_relative_paths_resolve_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = parse_config({"store": {"database": "state/v.db"}}, {})
    assert config.store.database == str(tmp_path / "state" / "v.db")
    assert config.logging.file == str(tmp_path / "logs" / "viper.jsonl")


def test_config_id_is_stable_and_tracks_changes_but_not_secrets() -> None:
    a = parse_config({"risk": {"risk_per_trade": 0.01}}, {})
    b = parse_config({"risk": {"risk_per_trade": 0.01}}, {"BITGET_API_KEY": "something-secret"})
    c = parse_config({"risk": {"risk_per_trade": 0.02}}, {})
    assert config_id(a) == config_id(a)
    assert config_id(a) != config_id(c)
    assert config_id(a) == config_id(b)


def test_secret_never_shows_in_str_or_repr() -> None:
    secret = Secret("hunter2-hunter2")
    assert (
        "hunter2" not in repr(secret)
        and "hunter2" not in str(secret)
        and "hunter2" not in f"{secret}"
    )
    assert secret.reveal() == "hunter2-hunter2"
    assert not Secret("")
