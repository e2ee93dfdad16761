"""Config sections of the operator surface: the log index, alert rules and channels."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from viper.config_base import (
    AlertRuleName,
    AlertSeverity,
    ChannelName,
    EmailAddress,
    Fraction,
    HttpUrl,
    LogLevel,
    Port,
    PositiveFloat,
    PositiveInt,
    Secret,
    Section,
    doc,
)


class LoggerConfig(Section, frozen=True):
    max_records: Annotated[
        PositiveInt, doc("Records the in-memory log index keeps; older ones are read from files")
    ] = 200_000
    level: Annotated[
        LogLevel | Literal[""], doc("Lowest level indexed; empty = the [logging] level")
    ] = ""
    max_page: Annotated[PositiveInt, doc("Most records one /logger/logs or /search page holds")] = (
        1000
    )
    stream_queue: Annotated[
        PositiveInt, doc("Records a live-tail client may fall behind by before losing the oldest")
    ] = 1000
    heartbeat_seconds: Annotated[
        PositiveFloat, doc("Idle seconds before the live tail sends an SSE heartbeat")
    ] = 15.0


class AlertChannelBase(Section, frozen=True, tag_field="type"):
    name: Annotated[
        ChannelName, doc("Unique channel name (default: its type); vault keys alerts.<name>.*")
    ] = ""
    enabled: Annotated[bool, doc("Send alerts to this channel")] = True
    min_severity: Annotated[AlertSeverity, doc("Lowest severity sent to this channel")] = "warning"
    timeout_seconds: Annotated[PositiveFloat, doc("Timeout of one delivery attempt")] = 10.0


class WebhookChannel(AlertChannelBase, frozen=True, kw_only=True, tag="webhook"):
    url: Annotated[HttpUrl, doc("Endpoint that receives each alert as a JSON POST")]
    secret: Annotated[
        Secret, doc("HMAC-SHA256 key of X-Viper-Signature (better: vault alerts.<name>.secret)")
    ] = msgspec.field(default_factory=Secret)


class TelegramChannel(AlertChannelBase, frozen=True, kw_only=True, tag="telegram"):
    chat_id: Annotated[str, Meta(min_length=1), doc("Chat that receives the messages")]
    token: Annotated[Secret, doc("Bot token (better: vault alerts.<name>.token)")] = msgspec.field(
        default_factory=Secret
    )
    api_base: Annotated[HttpUrl, doc("Bot API base URL")] = "https://api.telegram.org"


class DiscordChannel(AlertChannelBase, frozen=True, kw_only=True, tag="discord"):
    url: Annotated[Secret, doc("Discord webhook URL (better: vault alerts.<name>.url)")] = (
        msgspec.field(default_factory=Secret)
    )


class EmailChannel(AlertChannelBase, frozen=True, kw_only=True, tag="email"):
    to: Annotated[list[EmailAddress], Meta(min_length=1), doc("Recipients")]
    sender: Annotated[EmailAddress, doc("From address")] = "viper@localhost"
    host: Annotated[str, Meta(min_length=1), doc("SMTP server")] = "127.0.0.1"
    port: Annotated[Port, doc("SMTP port (25, 587 with STARTTLS, 465 with ssl)")] = 25
    username: Annotated[str, doc("SMTP login; empty = no login")] = ""
    password: Annotated[Secret, doc("SMTP password (better: vault alerts.<name>.password)")] = (
        msgspec.field(default_factory=Secret)
    )
    starttls: Annotated[bool, doc("Upgrade the connection with STARTTLS")] = False
    ssl: Annotated[bool, doc("Connect with TLS from the start (SMTPS)")] = False


AlertChannel = WebhookChannel | TelegramChannel | DiscordChannel | EmailChannel


class AlertsConfig(Section, frozen=True):
    window_seconds: Annotated[
        PositiveFloat, doc("Repeats of one alert (rule and key) in this window become a summary")
    ] = 60.0
    max_per_window: Annotated[
        PositiveInt, doc("Distinct alerts one rule sends per window; the rest join its summary")
    ] = 10
    daily_loss_warn: Annotated[
        Fraction, doc("Warn when the day's loss reaches this share of risk.daily_loss_limit")
    ] = 0.8
    drawdown_warn: Annotated[
        Fraction, doc("Warn when the drawdown reaches this share of risk.max_drawdown")
    ] = 0.5
    disabled_rules: Annotated[list[AlertRuleName], doc("Rules switched off")] = msgspec.field(
        default_factory=list
    )
    retry_attempts: Annotated[PositiveInt, doc("Tries per delivery before it counts as failed")] = 4
    retry_base_delay_seconds: Annotated[
        PositiveFloat, doc("First wait between delivery tries; doubles each time")
    ] = 1.0
    retry_max_delay_seconds: Annotated[
        PositiveFloat, doc("Longest wait between delivery tries")
    ] = 30.0
    history_days: Annotated[PositiveInt, doc("Days of alert history kept in the database")] = 90
    channels: Annotated[
        list[AlertChannel],
        doc("Channels: [[alerts.channels]] tables, type = webhook|telegram|discord|email"),
    ] = msgspec.field(default_factory=list)
