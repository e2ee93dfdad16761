"""Alert channel and rule settings: from config.toml or a request body, each error naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from viper.config import DiscordChannel, EmailChannel, Secret, TelegramChannel, load_config
from viper.errors import ConfigError, ValidationError
from viper.modules.alerts.rules import RuleSettings
from viper.modules.alerts.settings import (
    RulesUpdate,
    config_channels,
    parse_channel,
    updated_rules,
)

TOML = """
[alerts]
window_seconds = 30.0

[[alerts.channels]]
type = "telegram"
chat_id = "-100"

[[alerts.channels]]
type = "email"
name = "oncall"
to = ["ops@example.com"]
min_severity = "critical"
"""


def test_channels_read_from_toml_as_tables(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TOML)
    config = load_config(path, {})
    telegram, mail = config_channels(config.alerts.channels)
    assert isinstance(telegram, TelegramChannel) and telegram.api_base == "https://api.telegram.org"
    assert isinstance(mail, EmailChannel) and mail.min_severity == "critical"


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('type = "webhook"\nurl = "ftp://x"', "alerts.channels.0.url"),
        ('type = "pager"', "alerts.channels.0.type"),
        ('type = "email"\nto = []', "alerts.channels.0.to"),
    ],
)
def test_bad_channel_config_names_the_key(tmp_path: Path, table: str, key: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[[alerts.channels]]\n{table}\n")
    with pytest.raises(ConfigError, match=f"^{key}:"):
        load_config(path, {})


def test_duplicate_names_and_bad_secret_urls_are_config_errors() -> None:
    twice = [TelegramChannel(chat_id="1"), TelegramChannel(chat_id="2")]
    with pytest.raises(ConfigError, match=r"alerts.channels.1.name: two channels"):
        config_channels(twice)
    with pytest.raises(ConfigError, match=r"alerts.channels.0.url"):
        config_channels([DiscordChannel(url=Secret("discord.com/x"))])


def test_a_channel_from_a_body_keeps_its_secret_masked() -> None:
    channel = parse_channel({"type": "webhook", "url": "https://h/x", "secret": "abcd-1234"})
    assert "abcd-1234" not in repr(channel)
    assert channel.secret.reveal() == "abcd-1234"  # type: ignore[union-attr]
    with pytest.raises(ValidationError) as caught:
        parse_channel({"type": "discord", "url": "nope"})
    assert caught.value.field == "url"


def test_rule_updates_change_only_what_they_name() -> None:
    current = RuleSettings(window_seconds=60, max_per_window=5)
    changed = updated_rules(current, RulesUpdate(max_per_window=9))
    assert (changed.window_seconds, changed.max_per_window) == (60, 9)
    with pytest.raises(ValidationError) as caught:
        updated_rules(current, RulesUpdate(drawdown_warn=0))
    assert caught.value.field == "drawdown_warn"
