"""The strategy interface: declarative, as freqtrade's IStrategy is.

A strategy is a class with a `name`, a typed frozen `Params` Struct whose defaults are its
settings, and one batch function, `decide`, that turns one symbol's bars into per-bar
decision arrays. It never places orders: the backtest engine (and later the live engine)
acts on the decisions. A decision at bar t may use data up to and including t's close; the
engine acts at t+1's open. `incremental(params)` gives the same decisions one candle at a
time with constant state, for live use.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar, cast

import msgspec
import numpy as np

from viper.domain import Candle
from viper.errors import ValidationError

NAN = math.nan


class Bars(NamedTuple):
    """One symbol's bars as arrays; `funding`: the rate at bars with a funding event, else NaN."""

    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    funding: np.ndarray


class Decisions(NamedTuple):
    """Per-bar decisions of one symbol; distances are in price units, NaN = none."""

    entry_long: np.ndarray
    entry_short: np.ndarray
    exit_long: np.ndarray
    exit_short: np.ndarray
    stop_distance: np.ndarray
    take_profit_distance: np.ndarray
    trail_distance: np.ndarray


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """One bar's decision, as the incremental form yields it."""

    ts_ms: int
    entry_long: bool = False
    entry_short: bool = False
    exit_long: bool = False
    exit_short: bool = False
    stop_distance: float = NAN
    take_profit_distance: float = NAN
    trail_distance: float = NAN


class StrategyParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every strategy's parameters; `__post_init__` checks raise ValidationError."""


P = TypeVar("P", bound=StrategyParams)


class IncrementalStrategy(Protocol):
    """The live form of a strategy for one symbol: one closed candle in, one decision out."""

    def update(self, candle: Candle, funding: float = NAN) -> Decision: ...


_AT_FIELD = re.compile(r"at `\$\.([A-Za-z_][A-Za-z0-9_]*)")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")


def parse_params(params_type: type[P], raw: Mapping[str, Any] | StrategyParams | None) -> P:
    """`raw` validated into `params_type`; errors are ValidationErrors naming the parameter."""
    if raw is None:
        return params_type()
    if isinstance(raw, params_type):
        return raw
    if not isinstance(raw, Mapping):
        raise ValidationError(
            f"params: expected an object, got {type(raw).__name__}", field="params"
        )
    try:
        return msgspec.convert(dict(raw), params_type)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _UNKNOWN.search(text) or _AT_FIELD.search(text)
        name = match.group(1) if match else "params"
        raise ValidationError(f"{name}: {text}", field=name) from exc


Packed = tuple[np.ndarray, np.ndarray, np.ndarray]


class Strategy(ABC, Generic[P]):
    """A declarative strategy: name, typed parameters, a batch `decide` and its live form."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[StrategyParams]]

    def params(self, raw: Mapping[str, Any] | StrategyParams | None = None) -> P:
        """The validated parameters (defaults for what `raw` leaves out)."""
        return cast(P, parse_params(self.Params, raw))

    def defaults(self) -> dict[str, Any]:
        """The default parameters as plain values."""
        return cast(dict[str, Any], msgspec.to_builtins(self.Params()))

    @abstractmethod
    def warmup(self, params: P) -> int:
        """Bars needed before the first decision can be made."""

    @abstractmethod
    def decide(self, bars: Bars, params: P) -> Decisions:
        """Per-bar decisions for one symbol; bar t uses data up to and including t only."""

    @abstractmethod
    def incremental(self, params: P) -> IncrementalStrategy:
        """The candle-at-a-time form; yields exactly `decide`'s decisions on the same candles."""

    def packed(self, bars: Bars, params: P) -> Packed | None:
        """Optionally `decide` already packed for the engine, the same values computed
        faster: (flags per bar as `viper.backtest.layout` bits, the entry bars, their
        (stop, take-profit, trail) distances). None: the engine packs `decide` itself."""
        return None


def empty_decisions(n: int) -> Decisions:
    """Decisions of `n` bars that never trade (all flags False, distances NaN)."""
    return Decisions(
        entry_long=np.zeros(n, dtype=np.bool_),
        entry_short=np.zeros(n, dtype=np.bool_),
        exit_long=np.zeros(n, dtype=np.bool_),
        exit_short=np.zeros(n, dtype=np.bool_),
        stop_distance=np.full(n, NAN),
        take_profit_distance=np.full(n, NAN),
        trail_distance=np.full(n, NAN),
    )


def decision_at(decisions: Decisions, i: int, ts_ms: int) -> Decision:
    """Bar `i` of batch decisions as one `Decision` (for comparing with the live form)."""
    return Decision(
        ts_ms=ts_ms,
        entry_long=bool(decisions.entry_long[i]),
        entry_short=bool(decisions.entry_short[i]),
        exit_long=bool(decisions.exit_long[i]),
        exit_short=bool(decisions.exit_short[i]),
        stop_distance=float(decisions.stop_distance[i]),
        take_profit_distance=float(decisions.take_profit_distance[i]),
        trail_distance=float(decisions.trail_distance[i]),
    )


def bars_from_arrays(
    close: np.ndarray,
    *,
    open: np.ndarray | None = None,
    high: np.ndarray | None = None,
    low: np.ndarray | None = None,
    volume: np.ndarray | None = None,
    timestamp: np.ndarray | None = None,
    funding: np.ndarray | None = None,
    timeframe_ms: int = 60_000,
) -> Bars:
    """`Bars` from whatever arrays are at hand (missing prices default to the close)."""
    c = np.ascontiguousarray(close, dtype=np.float64)
    n = c.shape[0]

    def col(values: np.ndarray | None, default: np.ndarray) -> np.ndarray:
        return default if values is None else np.ascontiguousarray(values, dtype=np.float64)

    ts = (
        np.arange(n, dtype=np.int64) * timeframe_ms
        if timestamp is None
        else np.ascontiguousarray(timestamp, dtype=np.int64)
    )
    return Bars(
        timestamp=ts,
        open=col(open, c),
        high=col(high, c),
        low=col(low, c),
        close=c,
        volume=col(volume, np.ones(n)),
        funding=col(funding, np.full(n, NAN)),
    )
