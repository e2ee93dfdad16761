"""The VIPER score: one kernel, run in batch over histories or one candle at a time.

`score_batch`, `score_many` and `score_frames` score histories (numba-compiled);
`IncrementalScorer` scores live candles (plain Python); both run the same `score_step`, so
they agree to the bit. See docs/scoring.md. The batch names load on first use, so a process
that only scores live candles never imports numba or polars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from viper.scoring.incremental import IncrementalScorer
from viper.scoring.params import ScoreParams

if TYPE_CHECKING:
    from viper.scoring.scorer import ScoreArrays, score_batch, score_frames, score_many, warm_up

_BATCH = frozenset({"ScoreArrays", "score_batch", "score_frames", "score_many", "warm_up"})

__all__ = [
    "IncrementalScorer",
    "ScoreArrays",
    "ScoreParams",
    "score_batch",
    "score_frames",
    "score_many",
    "warm_up",
]


def __getattr__(name: str) -> Any:
    if name in _BATCH:
        from viper.scoring import scorer

        return getattr(scorer, name)
    raise AttributeError(f"module 'viper.scoring' has no attribute {name!r}")
