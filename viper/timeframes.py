"""Timeframes as ccxt names them ("1m", "4h", "1d"), their length in ms, and time parsing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from viper.errors import ValidationError

_UNITS_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PATTERN = re.compile(r"^(\d+)([smhdw])$")
COMMON = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w")


def timeframe_ms(timeframe: str, field: str = "timeframe") -> int:
    """Length of one bar in milliseconds; a ValidationError names `field` when unknown."""
    match = _PATTERN.match(timeframe.strip())
    if match is None or int(match.group(1)) == 0:
        raise ValidationError(
            f"{field}: unknown timeframe {timeframe!r}; use e.g. {', '.join(COMMON[:8])}",
            field=field,
        )
    return int(match.group(1)) * _UNITS_MS[match.group(2)]


def is_multiple(higher: str, lower: str) -> bool:
    """Whether bars of `higher` are made of whole bars of `lower`."""
    return timeframe_ms(higher) % timeframe_ms(lower) == 0 and timeframe_ms(higher) >= timeframe_ms(
        lower
    )


def floor_ms(ts_ms: int, timeframe: str) -> int:
    """The open time of the bar of `timeframe` that contains `ts_ms` (UTC-aligned)."""
    step = timeframe_ms(timeframe)
    return ts_ms - ts_ms % step


def parse_time(value: str | int | None, field: str) -> int | None:
    """Milliseconds since the epoch from ms, seconds, or ISO 8601 (UTC when no zone is given)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        number = int(text)
        return number * 1000 if abs(number) < 100_000_000_000 else number
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{field}: expected milliseconds or an ISO 8601 time, got {text!r}", field=field
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
