"""Channel and rule settings from a request body (or the database), checked field by field.

Channel Structs are the config's own (`viper.config.AlertChannel`), so a channel is validated
the same way whether it comes from config.toml or from `POST /alerts/notifications`. Each
problem is a ValidationError naming its field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec

from viper.config import AlertChannel, AlertRuleName, DiscordChannel, Secret
from viper.errors import BadRequestError, ConfigError, ValidationError
from viper.modules.alerts.channels import channel_name
from viper.modules.alerts.rules import RuleSettings

T = TypeVar("T")


class RulesUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A partial change of the rule settings: fields left out keep their value."""

    window_seconds: float | msgspec.UnsetType = msgspec.UNSET
    max_per_window: int | msgspec.UnsetType = msgspec.UNSET
    daily_loss_warn: float | msgspec.UnsetType = msgspec.UNSET
    drawdown_warn: float | msgspec.UnsetType = msgspec.UNSET
    disabled_rules: list[AlertRuleName] | msgspec.UnsetType = msgspec.UNSET


def _secret_hook(tp: type, obj: object) -> object:
    if tp is Secret and isinstance(obj, str):
        return Secret(obj)
    raise NotImplementedError(f"cannot read {tp!r}")


def _field_of(message: str) -> str | None:
    """The field a msgspec message points at (`$.to[0]`, or a missing or unknown name)."""
    _, sep, where = message.rpartition(" - at ")
    path = where.strip("`").removeprefix("$").lstrip(".") if sep else ""
    if message.startswith(("Object missing required field", "Object contains unknown field")):
        name = message.split("`")[1]
        return f"{path}.{name}" if path else name
    return path or None


def convert(data: Any, type_: type[T]) -> T:
    """Validate decoded data into `type_`; a ValidationError names the field."""
    try:
        return msgspec.convert(data, type_, strict=True, dec_hook=_secret_hook)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = _field_of(text)
        detail = text.split(" - at ")[0]
        raise ValidationError(f"{field}: {detail}" if field else detail, field=field) from None


def decode_body(body: bytes) -> Any:
    """JSON of a request body; BadRequestError when it is not JSON."""
    if not body:
        raise BadRequestError("the request body is empty; expected a JSON object")
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise BadRequestError(f"the request body is not valid JSON: {exc}") from None


def check_channel(channel: AlertChannel) -> AlertChannel:
    """Checks the types cannot express (a secret URL's form); returns the channel."""
    if isinstance(channel, DiscordChannel) and channel.url:
        url = channel.url.reveal()
        if not url.startswith(("https://", "http://")) or " " in url:
            raise ValidationError("url: expected an http(s) URL", field="url")
    return channel


def parse_channel(data: Any) -> AlertChannel:
    """A channel from decoded JSON, validated."""
    channel: AlertChannel = convert(data, AlertChannel)  # type: ignore[arg-type]
    return check_channel(channel)


def config_channels(channels: Iterable[AlertChannel]) -> list[AlertChannel]:
    """The config's channels, checked: unique names and well-formed secret URLs."""
    seen: set[str] = set()
    checked: list[AlertChannel] = []
    for i, channel in enumerate(channels):
        name = channel_name(channel)
        if name in seen:
            raise ConfigError(f"alerts.channels.{i}.name: two channels are named {name!r}")
        seen.add(name)
        try:
            checked.append(check_channel(channel))
        except ValidationError as exc:
            raise ConfigError(f"alerts.channels.{i}.{exc.detail}") from None
    return checked


def updated_rules(current: RuleSettings, change: RulesUpdate) -> RuleSettings:
    """`current` with the fields `change` sets, validated as a whole."""
    fields = msgspec.structs.asdict(current)
    fields.update(
        {k: v for k, v in msgspec.structs.asdict(change).items() if v is not msgspec.UNSET}
    )
    return convert(fields, RuleSettings)
