"""`viper`, the house strategy: trade VIPER score signals with ATR stops.

Enter when the score is at or above `threshold`, in the score's direction; stop-loss at
`sl_atr` x ATR, take-profit at `tp_atr` x ATR, optional trailing stop at `trailing_atr` x ATR
(0 = off); exit when the score decays below `exit_threshold` or the opposite signal comes.
The score sees the last known funding rate (carried forward between funding events).
Batch and live forms run the scorer's shared `score_step` (compiled in batch, plain Python
live), so their decisions are identical.
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
from msgspec import Meta

from viper.config import SignalConfig
from viper.domain import Candle
from viper.errors import ValidationError
from viper.scoring import IncrementalScorer, ScoreParams
from viper.strategies.base import Bars, Decision, Decisions, Strategy, StrategyParams

_SIGNAL = SignalConfig()
Level = Annotated[float, Meta(ge=0.0, le=100.0)]
AtrMultiple = Annotated[float, Meta(ge=0.0, le=1000.0)]
Weight = Annotated[float, Meta(ge=0.0)]


class ViperParams(StrategyParams, frozen=True):
    """Score settings (defaults from `[signal]`), exit level and ATR multiples (0 = off)."""

    threshold: Level = _SIGNAL.threshold
    lookback: Annotated[int, Meta(ge=2, le=1000)] = _SIGNAL.lookback
    exit_threshold: Level = 50.0
    sl_atr: AtrMultiple = 1.5
    tp_atr: AtrMultiple = 3.0
    trailing_atr: AtrMultiple = 0.0
    allow_short: bool = True
    weight_volume: Weight = _SIGNAL.weight_volume
    weight_price: Weight = _SIGNAL.weight_price
    weight_range: Weight = _SIGNAL.weight_range
    weight_external: Weight = _SIGNAL.weight_external
    htf_factor: Annotated[int, Meta(ge=1, le=100)] = 4

    def __post_init__(self) -> None:
        if self.exit_threshold > self.threshold:
            raise ValidationError(
                f"exit_threshold: must not exceed threshold ({self.exit_threshold} > "
                f"{self.threshold})",
                field="exit_threshold",
            )
        self.score_params()  # the scorer's own checks (weights) name their field

    def score_params(self) -> ScoreParams:
        """The scorer's parameters."""
        return ScoreParams(
            lookback=self.lookback,
            threshold=self.threshold,
            weight_volume=self.weight_volume,
            weight_price=self.weight_price,
            weight_range=self.weight_range,
            weight_external=self.weight_external,
            htf_factor=self.htf_factor,
        )


def carry_forward(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last value before it (leading NaNs stay)."""
    seen = ~np.isnan(values)
    if seen.all() or not seen.any():
        return values
    last = np.where(seen, np.arange(values.shape[0]), 0)
    np.maximum.accumulate(last, out=last)
    return values[last]


def _distance(atr: np.ndarray, multiple: float) -> np.ndarray:
    return atr * multiple if multiple > 0.0 else np.full(atr.shape[0], np.nan)


class Viper(Strategy[ViperParams]):
    """Trade VIPER score signals with ATR stop-loss, take-profit and optional trailing stop."""

    name = "viper"
    description = "enter on VIPER score >= threshold, ATR stops, exit on score decay"
    Params = ViperParams

    def warmup(self, params: ViperParams) -> int:
        return params.lookback

    def decide(self, bars: Bars, params: ViperParams) -> Decisions:
        from viper.scoring.scorer import score_batch  # numba: only where batches run

        scores = score_batch(
            bars.open,
            bars.high,
            bars.low,
            bars.close,
            bars.volume,
            funding=carry_forward(np.asarray(bars.funding, dtype=np.float64)),
            params=params.score_params(),
        )
        with np.errstate(invalid="ignore"):
            signal = scores.score >= params.threshold
            decayed = scores.score < params.exit_threshold
        up, down = signal & (scores.direction == 1), signal & (scores.direction == -1)
        return Decisions(
            entry_long=up,
            entry_short=down & params.allow_short,
            exit_long=decayed | down,
            exit_short=decayed | up,
            stop_distance=_distance(scores.atr, params.sl_atr),
            take_profit_distance=_distance(scores.atr, params.tp_atr),
            trail_distance=_distance(scores.atr, params.trailing_atr),
        )

    def incremental(self, params: ViperParams) -> ViperLive:
        return ViperLive(params)


class ViperLive:
    """`viper` for one symbol, one closed candle at a time (the scorer's constant state)."""

    _SYMBOL = "_"

    def __init__(self, params: ViperParams) -> None:
        self.params = params
        self._scorer = IncrementalScorer(params.score_params())
        self._funding = math.nan

    def update(self, candle: Candle, funding: float = math.nan) -> Decision:
        """The decision at this candle's close; `funding` NaN = unchanged since the last one."""
        if not math.isnan(funding):
            self._funding = funding
        c, p = candle, self.params
        score, direction, *_, atr, _ = self._scorer.step(
            self._SYMBOL, c.open, c.high, c.low, c.close, c.volume, self._funding
        )
        signal = score >= p.threshold
        decayed = score < p.exit_threshold
        up, down = signal and direction == 1.0, signal and direction == -1.0
        return Decision(
            ts_ms=c.ts_ms,
            entry_long=up,
            entry_short=down and p.allow_short,
            exit_long=decayed or down,
            exit_short=decayed or up,
            stop_distance=atr * p.sl_atr if p.sl_atr > 0.0 else math.nan,
            take_profit_distance=atr * p.tp_atr if p.tp_atr > 0.0 else math.nan,
            trail_distance=atr * p.trailing_atr if p.trailing_atr > 0.0 else math.nan,
        )
