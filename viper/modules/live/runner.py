"""One symbol's strategy, candle by candle, in the backtester's encoding of decisions.

The incremental strategy yields exactly the batch decisions the backtester acts on; the flags
use the backtester's bits (`viper.backtest.layout`) so `wanted_side` and the exit rule below
are the same code and the same rule as the backtest kernel's.
"""

from __future__ import annotations

import math
from collections import deque
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
    """The incremental strategy of one symbol, the bars it has seen, and the newest of them
    (as many as the warm-up needs), so new parameters start from a warm strategy."""

    def __init__(self, strategy: Strategy[Any], params: Any, keep: int = 0) -> None:
        self._strategy = strategy
        self.params = params
        self._live: IncrementalStrategy = strategy.incremental(params)
        self.history: deque[tuple[Candle, float]] = deque(maxlen=max(keep, strategy.warmup(params)))
        self.bars = 0
        self.cold = 0  # bars still needed before decisions count, after new parameters
        self.last_ms: int | None = None
        self.last: Decision | None = None

    def update(self, candle: Candle, funding: float = math.nan) -> Decision | None:
        """The decision at this candle's close; None for a bar already seen (a replay)."""
        if self.last_ms is not None and candle.ts_ms <= self.last_ms:
            return None
        self.last_ms = candle.ts_ms
        self.bars += 1
        self.cold = max(0, self.cold - 1)
        self.history.append((candle, funding))
        self.last = self._live.update(candle, funding)
        return self.last

    def reparametrize(self, params: Any) -> None:
        """Trade `params` from the next bar on. The new strategy first sees the kept bars; if
        they are fewer than its warm-up, its decisions count only once it has seen enough."""
        live = self._strategy.incremental(params)
        last: Decision | None = None
        for candle, funding in self.history:
            last = live.update(candle, funding)
        needed = self._strategy.warmup(params)
        self.cold = max(0, needed - len(self.history))
        if needed > (self.history.maxlen or 0):
            self.history = deque(self.history, maxlen=needed)
        self._live, self.params = live, params
        if last is not None:
            self.last = last
