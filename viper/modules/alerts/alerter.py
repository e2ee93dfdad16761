"""The alert pipeline without HTTP or the bus: event -> rules -> throttle -> history -> channels.

`handle(event)` raises the alerts an event deserves now; `flush_due()` raises the summaries of
the windows that have ended. The module calls both; tests call them directly with a TestClock.
"""

from __future__ import annotations

from viper.clock import Clock
from viper.events import BaseEvent, new_event_id
from viper.modules.alerts.delivery import Dispatcher
from viper.modules.alerts.history import AlertHistory
from viper.modules.alerts.models import Alert, AlertKind, Candidate
from viper.modules.alerts.rules import RuleEngine, RuleSettings
from viper.modules.alerts.throttle import Throttle


class Alerter:
    """Raises, records and dispatches alerts."""

    def __init__(
        self,
        *,
        settings: RuleSettings,
        history: AlertHistory,
        dispatcher: Dispatcher,
        clock: Clock,
    ) -> None:
        self.rules = RuleEngine(settings)
        self.throttle = Throttle(settings.window_seconds, settings.max_per_window)
        self.history = history
        self.dispatcher = dispatcher
        self.clock = clock
        self.raised = 0

    @property
    def settings(self) -> RuleSettings:
        return self.rules.settings

    def apply(self, settings: RuleSettings) -> None:
        """New thresholds and switches; open windows keep their end."""
        self.rules.settings = settings
        self.throttle.window_seconds = settings.window_seconds
        self.throttle.max_per_window = settings.max_per_window

    async def handle(self, event: BaseEvent) -> list[Alert]:
        """The alerts `event` raises now (repeats are folded, to be summarised later)."""
        raised = []
        for candidate in self.rules.evaluate(event):
            if self.throttle.offer(candidate, self.clock.monotonic()):
                raised.append(await self.raise_alert(candidate))
        return raised

    async def flush_due(self) -> list[Alert]:
        """One summary alert per window that ended with repeats folded into it."""
        return [
            await self.raise_alert(candidate, kind="summary", count=repeats)
            for candidate, repeats in self.throttle.due(self.clock.monotonic())
        ]

    def next_due(self) -> float | None:
        """When (on the clock's monotonic time) the next window ends."""
        return self.throttle.next_due()

    async def raise_alert(
        self, candidate: Candidate, *, kind: AlertKind = "alert", count: int = 1
    ) -> Alert:
        """Record an alert, then start its deliveries."""
        alert = Alert(
            id=new_event_id(),
            ts_ms=self.clock.now_ms(),
            rule=candidate.rule,
            category=candidate.category,
            severity=candidate.severity,
            key=candidate.key,
            message=candidate.message,
            source=candidate.source,
            kind=kind,
            count=count,
        )
        self.dispatcher.dispatch(alert)
        await self.history.add(alert)
        self.raised += 1
        return alert
