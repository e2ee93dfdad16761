"""Building blocks of the config: constraint aliases, module names, secrets, the Section base."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec
from msgspec import Meta

# Constraint aliases, named once.
PositiveInt = Annotated[int, Meta(gt=0)]
NonNegativeInt = Annotated[int, Meta(ge=0)]
Port = Annotated[int, Meta(ge=1, le=65535)]
PortOrZero = Annotated[int, Meta(ge=0, le=65535)]
PositiveFloat = Annotated[float, Meta(gt=0)]
NonNegativeFloat = Annotated[float, Meta(ge=0)]
Fraction = Annotated[float, Meta(gt=0, le=1)]
RiskFraction = Annotated[float, Meta(gt=0, le=0.1)]
Percent = Annotated[float, Meta(ge=0, le=100)]
LogLevel = Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"]
AlertSeverity = Literal["info", "warning", "critical"]
AlertRuleName = Literal[
    "daily_loss",
    "drawdown",
    "kill_switch",
    "order_rejected",
    "module_failed",
    "position_desync",
    "data_stale",
    "exchange_down",
    "raised",
]
ChannelName = Annotated[str, Meta(pattern=r"^([a-z0-9][a-z0-9_-]{0,31})?$")]
HttpUrl = Annotated[str, Meta(pattern=r"^https?://[^\s/]+\S*$")]
EmailAddress = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+$")]
OpenPath = Annotated[str, Meta(pattern=r"^/\S*$")]

ModuleName = Literal[
    "api",
    "web",
    "backtester",
    "risk",
    "data",
    "optimizer",
    "exchange",
    "monitoring",
    "live",
    "vault",
    "streamer",
    "signal",
    "alerts",
    "order",
    "sync",
    "mcp",
    "logger",
]
MODULE_NAMES: tuple[str, ...] = get_args(ModuleName)  # in the order of DESIGN.md's table


def doc(text: str) -> Meta:
    return Meta(description=text)


class Secret:
    """A secret value: masked in every repr, log line and encoded config."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def reveal(self) -> str:
        """The plain value, for the one place that must send it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every config section."""
