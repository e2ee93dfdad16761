"""`ScoreParams`: the settings of the VIPER score (lookback, threshold, weights, trend factor)."""

from __future__ import annotations

import math

import msgspec
import numpy as np

from viper.config import SignalConfig
from viper.errors import ValidationError
from viper.scoring.kernel import (
    N_PARAMS,
    P_HTF,
    P_LOOKBACK,
    P_W_EXTERNAL,
    P_W_PRICE,
    P_W_RANGE,
    P_W_VOLUME,
)

MAX_LOOKBACK = 1000


class ScoreParams(msgspec.Struct, frozen=True, kw_only=True):
    """How to score: lookback `n`, signal threshold, component weights, higher-timeframe factor.

    `htf_factor` makes the higher-timeframe trend proxy an EMA over `n * htf_factor` bars.
    """

    lookback: int = 20
    threshold: float = 85.0
    weight_volume: float = 1.0
    weight_price: float = 1.0
    weight_range: float = 1.0
    weight_external: float = 1.0
    htf_factor: int = 4

    def __post_init__(self) -> None:
        if not 2 <= self.lookback <= MAX_LOOKBACK:
            raise ValidationError(
                f"lookback: must be in 2..{MAX_LOOKBACK}, got {self.lookback}", field="lookback"
            )
        if not 0.0 <= self.threshold <= 100.0:
            raise ValidationError(
                f"threshold: must be in 0..100, got {self.threshold}", field="threshold"
            )
        if not 1 <= self.htf_factor <= 100:
            raise ValidationError(
                f"htf_factor: must be in 1..100, got {self.htf_factor}", field="htf_factor"
            )
        for name, weight in self.weights().items():
            if not (math.isfinite(weight) and weight >= 0.0):
                raise ValidationError(
                    f"{name}: must be a finite number >= 0, got {weight}", field=name
                )
        if sum(self.weights().values()) <= 0.0:
            raise ValidationError("weights: at least one weight must be > 0", field="weights")

    @classmethod
    def from_config(cls, config: SignalConfig, *, htf_factor: int = 4) -> ScoreParams:
        """The parameters of the `[signal]` config section."""
        return cls(
            lookback=config.lookback,
            threshold=config.threshold,
            weight_volume=config.weight_volume,
            weight_price=config.weight_price,
            weight_range=config.weight_range,
            weight_external=config.weight_external,
            htf_factor=htf_factor,
        )

    def weights(self) -> dict[str, float]:
        """The four weights by field name."""
        return {
            "weight_volume": self.weight_volume,
            "weight_price": self.weight_price,
            "weight_range": self.weight_range,
            "weight_external": self.weight_external,
        }

    def as_array(self) -> np.ndarray:
        """The kernel's parameter vector."""
        params = np.zeros(N_PARAMS, dtype=np.float64)
        params[P_LOOKBACK] = self.lookback
        params[P_HTF] = self.htf_factor
        params[P_W_VOLUME] = self.weight_volume
        params[P_W_PRICE] = self.weight_price
        params[P_W_RANGE] = self.weight_range
        params[P_W_EXTERNAL] = self.weight_external
        return params
