"""The shapes the signal module serves and caches: a scored bar, and pages of scores and signals."""

from __future__ import annotations

import msgspec

from viper.domain import Direction, Signal


class ScoreView(msgspec.Struct, frozen=True, kw_only=True):
    """The VIPER score of one symbol and timeframe at one closed bar, with its components."""

    symbol: str
    timeframe: str
    ts_ms: int  # the bar's open time, as the candle's
    close_ts_ms: int  # the bar's close time: when the score became known
    score: float
    direction: Direction
    volume: float
    price: float
    range: float
    external: float
    close: float  # the bar's close price
    signal: bool  # score at or above the threshold


class ScoresPage(msgspec.Struct, frozen=True, kw_only=True):
    """The body of GET /signal/scores: latest scores, or one series' history (oldest first)."""

    count: int
    threshold: float
    scores: list[ScoreView]


class SignalsPage(msgspec.Struct, frozen=True, kw_only=True):
    """The body of GET /signal/signals: matching signals, newest first, one page of them."""

    total: int
    limit: int
    offset: int
    signals: list[Signal]
