"""Entries of one bar wait for that bar's exits, as the backtester exits before it enters.

At each open the backtester first closes what must close, for every symbol, and only then
opens new positions, in symbol order, on the equity and exposure left. Live, the entries decided
at a bar close are held until every symbol's bar has come in (or a later bar has) and no exit
is still in flight; then they go out in the configured symbol order. Entries of a bar whose
exits did not settle before the next bar completed are dropped: their moment has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class EntryBatch(Generic[T]):
    """Entries (any payload) by bar close time and symbol."""

    def __init__(self, symbols: Sequence[str]) -> None:
        self.order = {symbol: i for i, symbol in enumerate(symbols)}
        self._seen: dict[int, set[str]] = {}
        self._entries: dict[int, dict[str, T]] = {}
        self.dropped = 0

    def saw(self, ts_ms: int, symbol: str) -> None:
        """A bar closing at `ts_ms` came in for `symbol`."""
        self._seen.setdefault(ts_ms, set()).add(symbol)

    def add(self, ts_ms: int, symbol: str, entry: T) -> None:
        """An entry decided at the bar closing at `ts_ms`."""
        self._entries.setdefault(ts_ms, {})[symbol] = entry

    def waiting(self) -> int:
        return sum(len(e) for e in self._entries.values())

    def _complete(self, ts_ms: int, latest: int) -> bool:
        return ts_ms < latest or self._seen[ts_ms].issuperset(self.order)

    def take(self, settled: bool) -> list[T]:
        """Entries ready to go: their bar is complete and (`settled`) no exit is in flight."""
        if not self._seen:
            return []
        latest = max(self._seen)
        ready: list[T] = []
        for ts in sorted(self._seen):
            if not self._complete(ts, latest):
                break
            if not settled and not (ts < latest and self._complete(latest, latest)):
                break
            entries = self._entries.pop(ts, {})
            del self._seen[ts]
            if settled:
                ready += [entries[s] for s in sorted(entries, key=lambda s: self.order.get(s, 0))]
            else:
                self.dropped += len(entries)
        return ready
