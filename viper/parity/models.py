"""What parity compares and reports: round trips, refusals, pairs and the summary."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Status = Literal["exact", "match", "differs", "open", "missing_in_live", "missing_in_backtest"]


class ParityTrade(msgspec.Struct, frozen=True, kw_only=True):
    """One round trip, live or backtested; `exit_ms` None while still open."""

    symbol: str
    side: Literal["long", "short"]
    entry_ms: int
    entry_price: float
    size: float
    exit_ms: int | None = None
    exit_price: float | None = None
    exit_reason: str = ""
    fees: float = 0.0


class Rejection(msgspec.Struct, frozen=True, kw_only=True):
    """An intent the risk manager refused."""

    ts_ms: int
    symbol: str
    reason: str
    detail: str = ""


class TradePair(msgspec.Struct, frozen=True, kw_only=True):
    """A backtest trade and its live counterpart (either may be missing), and what differs."""

    symbol: str
    side: str
    status: Status
    live: ParityTrade | None
    backtest: ParityTrade | None
    differences: list[str]
    explanation: str


class ParitySummary(msgspec.Struct, frozen=True, kw_only=True):
    """Counts over all pairs."""

    live_trades: int
    backtest_trades: int
    exact: int
    matched: int
    differs: int
    open: int
    missing_in_live: int
    missing_in_backtest: int
    differences: dict[str, int]


class ParityReport(msgspec.Struct, frozen=True, kw_only=True):
    """Every pair and the summary."""

    since_ms: int
    until_ms: int | None
    symbols: list[str]
    strategy: str
    summary: ParitySummary
    pairs: list[TradePair]
    params: dict[str, Any] = msgspec.field(default_factory=dict)  # the reference backtest's
    notes: list[str] = msgspec.field(default_factory=list)  # parameter sets applied live
