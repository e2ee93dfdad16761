"""The alerts module: rules over bus events, folded repeats, deliveries, history, behind /alerts.

It subscribes to the events its rules read (known types, and any recognised by name or
fields), raises alerts through the `Alerter`, and sends window summaries from a named task.
Channels come from `[alerts]` and from the API; secrets from the vault when it has them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import msgspec
from loguru import logger
from starlette.routing import BaseRoute

from viper.bus import EventBus, Subscription
from viper.clock import Clock
from viper.config import AlertChannel, AlertsConfig
from viper.errors import ConflictError, NotFoundError, ValidationError
from viper.events import EVENT_TYPES, BaseEvent
from viper.modules.alerts.alerter import Alerter
from viper.modules.alerts.channels import channel_name
from viper.modules.alerts.delivery import ChannelStatus, Dispatcher, RetrySettings
from viper.modules.alerts.history import AlertFilter, AlertHistory
from viper.modules.alerts.models import Alert, AlertPage, Delivery
from viper.modules.alerts.routes import routes
from viper.modules.alerts.rules import RuleSettings, handles
from viper.modules.alerts.secrets import SecretResolver, configured_secret
from viper.modules.alerts.settings import RulesUpdate, config_channels, parse_channel, updated_rules
from viper.modules.base import Health, ModuleContext, Services
from viper.protocols import AlertsSource, SecretRedactor, SecretStore

RULES_KEY = "rules"
DAY_MS = 86_400_000


def build_dispatcher(ctx: ModuleContext, cfg: AlertsConfig, history: AlertHistory) -> Dispatcher:
    """The dispatcher, with the vault (when enabled) and the log redactor for secrets."""
    services = ctx.services
    secrets = SecretResolver(lambda: services.maybe(SecretStore), services.maybe(SecretRedactor))
    secrets.remember(*(configured_secret(c) for c in cfg.channels))
    retry_settings = RetrySettings(
        attempts=cfg.retry_attempts,
        base_delay=cfg.retry_base_delay_seconds,
        max_delay=cfg.retry_max_delay_seconds,
    )
    return Dispatcher(
        clock=ctx.clock,
        secrets=secrets,
        retry_settings=retry_settings,
        persist=history.save_deliveries,
    )


class AlertsModule:
    """Turns bus events into alerts and delivers them; serves /alerts/*."""

    name = "alerts"
    requires: tuple[str, ...] = ()
    after: tuple[str, ...] = ("vault",)  # start after these when they are enabled

    def __init__(self) -> None:
        self._alerter: Alerter | None = None
        self._history: AlertHistory | None = None
        self._dispatcher: Dispatcher | None = None
        self._bus: EventBus | None = None
        self._clock: Clock | None = None
        self._subs: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._services: Services | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    @property
    def alerter(self) -> Alerter:
        if self._alerter is None:
            raise ConflictError("the alerts module is not running")
        return self._alerter

    async def start(self, ctx: ModuleContext) -> None:
        """Open the history, load channels and rules, subscribe, start the summary task."""
        cfg = ctx.section if isinstance(ctx.section, AlertsConfig) else AlertsConfig()
        channels = config_channels(cfg.channels)
        history = AlertHistory(ctx.store)
        await history.open()
        await history.purge(ctx.clock.now_ms() - cfg.history_days * DAY_MS)
        dispatcher = build_dispatcher(ctx, cfg, history)
        for channel in channels:
            dispatcher.put(channel, "config")
        await self._load_stored(history, dispatcher)
        settings = await self._stored_rules(history, RuleSettings.from_config(cfg))
        self._history, self._dispatcher = history, dispatcher
        self._bus, self._clock = ctx.bus, ctx.clock
        await dispatcher.open()
        self._alerter = Alerter(
            settings=settings, history=history, dispatcher=dispatcher, clock=ctx.clock
        )
        self._subs = [
            ctx.bus.subscribe(kind, self._on_event, name=f"alerts:{kind.__name__}")
            for kind in EVENT_TYPES
            if handles(kind)
        ]
        self._tasks = [asyncio.create_task(self._summaries(), name="alerts:summaries")]
        self._services = ctx.services
        ctx.services.provide(AlertsSource, self)

    @staticmethod
    async def _load_stored(history: AlertHistory, dispatcher: Dispatcher) -> None:
        for raw in await history.channels():
            try:
                channel = parse_channel(msgspec.json.decode(raw))
            except (ValidationError, msgspec.DecodeError) as exc:
                logger.warning("skipping a stored alert channel that no longer validates: {}", exc)
                continue
            dispatcher.put(channel, "api")

    @staticmethod
    async def _stored_rules(history: AlertHistory, default: RuleSettings) -> RuleSettings:
        raw = await history.setting(RULES_KEY)
        if raw is None:
            return default
        try:
            return msgspec.json.decode(raw, type=RuleSettings)
        except msgspec.ValidationError as exc:
            logger.warning("stored alert rule settings no longer validate ({}); using config", exc)
            return default

    async def stop(self) -> None:
        """Unsubscribe, cancel the summary task, end deliveries in flight; safe twice."""
        if self._services is not None:
            self._services.withdraw(AlertsSource)
        if self._bus is not None:
            for sub in self._subs:
                self._bus.unsubscribe(sub)
        self._subs = []
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._dispatcher is not None:
            await self._dispatcher.close()
        self._alerter = None

    async def _on_event(self, event: BaseEvent) -> None:
        alerter = self._alerter
        if alerter is None:
            return
        if await alerter.handle(event):
            self._wake.set()

    async def _summaries(self) -> None:
        """Send each window's summary when it ends; sleeps while no window is open."""
        while True:
            alerter, clock = self._alerter, self._clock
            if alerter is None or clock is None:
                return
            due = alerter.next_due()
            if due is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = due - clock.monotonic()
            if delay > 0:
                await clock.sleep(delay)
            try:
                await alerter.flush_due()
            except Exception as exc:  # keep summarising: one bad write must not end the task
                logger.error("could not raise alert summaries: {}", exc)

    def health(self) -> Health:
        alerter, dispatcher = self._alerter, self._dispatcher
        if alerter is None or dispatcher is None:
            return Health(status="down", detail="not started")
        failing = [
            f"{s.name}: {s.last_error}"
            for s in dispatcher.status.values()
            if s.enabled and s.last_state == "failed"
        ]
        checks = {
            "channels": len(dispatcher.channels),
            "raised": alerter.raised,
            "suppressed": alerter.throttle.suppressed_total,
            "deliveries_in_flight": dispatcher.in_flight,
            "failing_channels": len(failing),
        }
        if failing:
            detail = "last delivery failed on " + "; ".join(failing)
            return Health(status="degraded", detail=detail, checks=checks)
        return Health(status="ok", checks=checks)

    # --- views -----------------------------------------------------------------------------

    @property
    def history(self) -> AlertHistory:
        if self._history is None:
            raise ConflictError("the alerts module is not running")
        return self._history

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            raise ConflictError("the alerts module is not running")
        return self._dispatcher

    async def alerts(self, f: AlertFilter, offset: int, limit: int) -> AlertPage:
        """One page of the history, newest first."""
        total, found = await self.history.page(f, offset, limit)
        end = offset + len(found)
        return AlertPage(
            total=total,
            offset=offset,
            limit=limit,
            next_offset=end if end < total else None,
            alerts=found,
        )

    async def recent_alerts(self, limit: int) -> AlertPage:
        """AlertsSource: the newest `limit` alerts."""
        return await self.alerts(AlertFilter(), 0, limit)

    async def ack(self, alert_id: str, by: str) -> Alert:
        """Acknowledge one alert (404 when unknown)."""
        now = self._clock.now_ms() if self._clock is not None else 0
        return await self.history.ack(alert_id, now, by)

    def notifications(self) -> list[ChannelStatus]:
        """Every channel with its last delivery state."""
        return list(self.dispatcher.status.values())

    async def put_channel(self, channel: AlertChannel) -> ChannelStatus:
        """Add or replace a channel; stored without its secret."""
        name = channel_name(channel)
        self.dispatcher.secrets.remember(configured_secret(channel))
        await self.history.save_channel(name, channel)
        return self.dispatcher.put(channel, "api")

    async def delete_channel(self, name: str) -> None:
        """Remove a channel (config channels come back at the next start)."""
        if name not in self.dispatcher.channels:
            raise NotFoundError(f"no alert channel named {name!r}")
        self.dispatcher.remove(name)
        await self.history.delete_channel(name)

    async def test_channel(self, name: str) -> Delivery:
        """Send a test message to one channel now."""
        if name not in self.dispatcher.channels:
            raise NotFoundError(f"no alert channel named {name!r}")
        return await self.dispatcher.test(name)

    def rules(self) -> RuleSettings:
        return self.alerter.settings

    async def update_rules(self, change: RulesUpdate) -> RuleSettings:
        """Change rule thresholds or switches now; kept across restarts."""
        settings = updated_rules(self.alerter.settings, change)
        await self.history.save_setting(RULES_KEY, msgspec.json.encode(settings))
        self.alerter.apply(settings)
        return settings
