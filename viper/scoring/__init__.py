"""The VIPER score: one numba kernel, run in batch over histories or one candle at a time.

`score_batch`, `score_many` and `score_frames` score histories; `IncrementalScorer` scores
live candles; both run the same `score_step`, so they agree to the bit. See docs/scoring.md.
"""

from __future__ import annotations

from viper.scoring.incremental import IncrementalScorer
from viper.scoring.params import ScoreParams
from viper.scoring.scorer import ScoreArrays, score_batch, score_frames, score_many, warm_up

__all__ = [
    "IncrementalScorer",
    "ScoreArrays",
    "ScoreParams",
    "score_batch",
    "score_frames",
    "score_many",
    "warm_up",
]
