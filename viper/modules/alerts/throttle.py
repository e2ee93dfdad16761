"""De-duplication and throttling: one alert at once, one summary of the repeats at window end.

The first fire of a rule and key opens a window and is sent. Until the window ends, repeats
of that rule and key are only counted; so are new keys of a rule that has already sent
`max_per_window` alerts in its own window. When a window ends with repeats counted, one
summary says how many ("+99 more in the last minute"). Time is whatever the caller passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from viper.config import AlertSeverity
from viper.modules.alerts.models import Candidate, worst


@dataclass(slots=True)
class Window:
    """Repeats folded since a window opened; `sent` counts a rule window's alerts."""

    ends: float
    seconds: float
    first: Candidate
    key: str
    sent: int = 1
    suppressed: int = 0
    severity: AlertSeverity = "info"
    last_message: str = ""


def span(seconds: float) -> str:
    """`minute`, `5 minutes`, `30 s`: how a summary names its window."""
    if seconds == 60:
        return "minute"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} minutes"
    return f"{seconds:g} s"


class Throttle:
    """Decides which fires are sent now and what the summaries say later."""

    def __init__(self, window_seconds: float, max_per_window: int) -> None:
        self.window_seconds = window_seconds
        self.max_per_window = max_per_window
        self._keys: dict[tuple[str, str], Window] = {}
        self._rules: dict[str, Window] = {}
        self._ended: list[Window] = []
        self.suppressed_total = 0

    def offer(self, candidate: Candidate, now: float) -> bool:
        """True when `candidate` is to be sent now; False when folded into a summary."""
        self._expire(now)
        window = self._keys.get((candidate.rule, candidate.key))
        if window is not None:
            self._fold(window, candidate)
            return False
        rule = self._rules.get(candidate.rule)
        if rule is not None and rule.sent >= self.max_per_window:
            self._fold(rule, candidate)
            return False
        self._keys[(candidate.rule, candidate.key)] = self._open(candidate, candidate.key, now)
        if rule is None:
            self._rules[candidate.rule] = self._open(candidate, "*", now)
        else:
            rule.sent += 1
        return True

    def _open(self, candidate: Candidate, key: str, now: float) -> Window:
        seconds = self.window_seconds
        return Window(ends=now + seconds, seconds=seconds, first=candidate, key=key)

    def _fold(self, window: Window, candidate: Candidate) -> None:
        window.suppressed += 1
        window.severity = worst(window.severity, candidate.severity)
        window.last_message = candidate.message
        self.suppressed_total += 1

    def _expire(self, now: float) -> None:
        """Close the windows that have ended; keep those with repeats for their summary."""
        self._close(self._keys, now)
        self._close(self._rules, now)

    def _close(self, table: dict[Any, Window], now: float) -> None:
        for name, window in list(table.items()):
            if window.ends <= now:
                del table[name]
                if window.suppressed:
                    self._ended.append(window)

    def next_due(self) -> float | None:
        """When the earliest open window ends (now, if a summary is already waiting)."""
        if self._ended:
            return min(w.ends for w in self._ended)
        ends = [w.ends for w in self._keys.values()]
        ends.extend(w.ends for w in self._rules.values())
        return min(ends, default=None)

    def due(self, now: float) -> list[tuple[Candidate, int]]:
        """Summaries of the windows that have ended with repeats: (candidate, repeats)."""
        self._expire(now)
        ended, self._ended = self._ended, []
        return [(self._summary(w, w.key), w.suppressed) for w in ended]

    def _summary(self, window: Window, key: str) -> Candidate:
        first = window.first
        what = "" if key != "*" else " for other keys"
        message = (
            f"+{window.suppressed} more{what} in the last {span(window.seconds)}"
            f" (latest: {window.last_message})"
        )
        return Candidate(
            category=first.category,
            rule=first.rule,
            severity=worst(first.severity, window.severity),
            key=key,
            message=message,
            source=first.source,
        )
