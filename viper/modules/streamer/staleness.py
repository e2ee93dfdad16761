"""Which symbols have gone quiet: no data for longer than allowed, and when they come back."""

from __future__ import annotations

from collections.abc import Iterable


class Staleness:
    """Tracks the last time data arrived per symbol, on whatever clock the caller reads."""

    def __init__(self, symbols: Iterable[str], after_seconds: float, now: float) -> None:
        if after_seconds <= 0:
            raise ValueError(f"after_seconds must be positive, got {after_seconds}")
        self.after_seconds = after_seconds
        self._seen: dict[str, float] = dict.fromkeys(symbols, now)
        self._stale: set[str] = set()

    @property
    def stale(self) -> tuple[str, ...]:
        """Symbols currently stale, in configured order."""
        return tuple(s for s in self._seen if s in self._stale)

    def seen(self, symbol: str, now: float) -> bool:
        """Data arrived for `symbol`; True when it was stale until now."""
        if symbol not in self._seen:
            return False
        self._seen[symbol] = now
        if symbol in self._stale:
            self._stale.discard(symbol)
            return True
        return False

    def check(self, now: float) -> list[tuple[str, float]]:
        """Symbols that have just gone stale, with how long they have been silent."""
        found = []
        for symbol, last in self._seen.items():
            silent = now - last
            if symbol not in self._stale and silent >= self.after_seconds:
                self._stale.add(symbol)
                found.append((symbol, silent))
        return found

    def check_interval(self) -> float:
        """How often `check` is worth calling: a quarter of the threshold, within [0.05, 1] s."""
        return min(1.0, max(0.05, self.after_seconds / 4))
