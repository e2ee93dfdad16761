"""One symbol's strategy, candle by candle, in the backtester's encoding of decisions.

The incremental strategy yields exactly the batch decisions the backtester acts on; the flags
use the backtester's bits (`viper.backtest.layout`) so `wanted_side` and the exit rule below
are the same code and the same rule as the backtest kernel's.
"""

from __future__ import annotations

import math
from typing import Any

from viper.backtest.fills import wanted_side
from viper.backtest.layout import ENTRY_LONG, ENTRY_SHORT, EXIT_LONG, EXIT_SHORT
from viper.domain import Candle
from viper.strategies import Decision, IncrementalStrategy, Strategy


def flags_of(decision: Decision) -> int:
    """A decision as the backtester's bit flags."""
    return (
        (ENTRY_LONG if decision.entry_long else 0)
        | (ENTRY_SHORT if decision.entry_short else 0)
        | (EXIT_LONG if decision.exit_long else 0)
        | (EXIT_SHORT if decision.exit_short else 0)
    )


def entry_side(flags: int) -> int:
    """+1 / -1 for an unambiguous entry, 0 for none or a contradiction (the kernel's rule)."""
    return int(wanted_side(flags))


def exits(side: int, flags: int) -> bool:
    """Whether a position of `side` exits on these flags: its exit flag or the opposite entry."""
    if side > 0:
        return (flags & (EXIT_LONG | ENTRY_SHORT)) != 0
    return (flags & (EXIT_SHORT | ENTRY_LONG)) != 0


class SymbolRunner:
    """The incremental strategy of one symbol and the bars it has seen."""

    def __init__(self, strategy: Strategy[Any], params: Any) -> None:
        self._live: IncrementalStrategy = strategy.incremental(params)
        self.bars = 0
        self.last_ms: int | None = None
        self.last: Decision | None = None

    def update(self, candle: Candle, funding: float = math.nan) -> Decision | None:
        """The decision at this candle's close; None for a bar already seen (a replay)."""
        if self.last_ms is not None and candle.ts_ms <= self.last_ms:
            return None
        self.last_ms = candle.ts_ms
        self.bars += 1
        self.last = self._live.update(candle, funding)
        return self.last
