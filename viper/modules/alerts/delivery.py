"""Delivery: each alert to each channel that wants it, in its own task, with retry and backoff.

Every attempt, retry and outcome is written on the alert (its `deliveries`) and on the
channel's status, so the history and /notifications say what happened. A channel that is
down costs a few retries and a `failed` state; it never reaches the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

import aiohttp
import msgspec
from loguru import logger

from viper.clock import Clock
from viper.config import AlertChannel, DiscordChannel, EmailChannel, TelegramChannel
from viper.errors import ViperError
from viper.events import new_event_id
from viper.modules.alerts.channels import DeliveryFailed, channel_name, channel_type, send
from viper.modules.alerts.models import Alert, Delivery, DeliveryState, at_least
from viper.modules.alerts.secrets import SecretResolver, vault_key
from viper.resilience import retry

Persist = Callable[[Alert], Awaitable[None]]


class ChannelStatus(msgspec.Struct, kw_only=True):
    """A channel as /notifications shows it: its settings (no secret) and last delivery."""

    name: str
    type: str
    enabled: bool
    min_severity: str
    target: str
    origin: Literal["config", "api"]
    vault_key: str
    last_state: DeliveryState | Literal["never"] = "never"
    last_ts_ms: int | None = None
    last_error: str = ""
    last_alert_id: str = ""
    sent: int = 0
    failed: int = 0


class RetrySettings(msgspec.Struct, frozen=True, kw_only=True):
    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0


def target_of(channel: AlertChannel) -> str:
    """Where the channel sends, with nothing secret in it."""
    match channel:
        case TelegramChannel():
            return f"telegram chat {channel.chat_id}"
        case DiscordChannel():
            return "discord webhook"
        case EmailChannel():
            return ", ".join(channel.to)
    return str(channel.url).split("?")[0]


class Dispatcher:
    """Owns the channels, their HTTP session and the delivery tasks."""

    def __init__(
        self,
        *,
        clock: Clock,
        secrets: SecretResolver,
        retry_settings: RetrySettings,
        persist: Persist,
        max_concurrent: int = 16,
    ) -> None:
        self.clock = clock
        self.secrets = secrets
        self.retry_settings = retry_settings
        self.channels: dict[str, AlertChannel] = {}
        self.status: dict[str, ChannelStatus] = {}
        self._persist = persist
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Cancel deliveries in flight and close the session; safe twice."""
        tasks, self._tasks = set(self._tasks), set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def drain(self) -> None:
        """Wait for every delivery in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def put(self, channel: AlertChannel, origin: Literal["config", "api"]) -> ChannelStatus:
        """Add or replace a channel; a replaced one keeps its counters."""
        name = channel_name(channel)
        old = self.status.get(name)
        status = ChannelStatus(
            name=name,
            type=channel_type(channel),
            enabled=channel.enabled,
            min_severity=channel.min_severity,
            target=target_of(channel),
            origin=origin,
            vault_key=vault_key(channel),
        )
        if old is not None:
            status.sent, status.failed = old.sent, old.failed
        self.channels[name] = channel
        self.status[name] = status
        return status

    def remove(self, name: str) -> None:
        self.channels.pop(name, None)
        self.status.pop(name, None)

    def dispatch(self, alert: Alert) -> None:
        """Start one delivery per enabled channel whose minimum severity the alert meets."""
        now = self.clock.now_ms()
        for name, channel in self.channels.items():
            if channel.enabled and at_least(alert.severity, channel.min_severity):
                alert.deliveries[name] = Delivery(ts_ms=now)
        for name in alert.deliveries:
            task = asyncio.create_task(
                self._deliver(alert, name, self.channels[name], self.retry_settings.attempts),
                name=f"alerts:deliver:{alert.id}:{name}",
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def test(self, name: str) -> Delivery:
        """Send a test message to one channel now (one attempt) and say how it went."""
        channel = self.channels[name]
        alert = Alert(
            id=new_event_id(),
            ts_ms=self.clock.now_ms(),
            rule="test",
            category="test",
            severity="info",
            key="",
            message=f"test message from VIPER to channel {name}",
            kind="test",
        )
        alert.deliveries[name] = Delivery(ts_ms=alert.ts_ms)
        await self._deliver(alert, name, channel, attempts=1, persist=False)
        return alert.deliveries[name]

    async def _deliver(
        self, alert: Alert, name: str, channel: AlertChannel, attempts: int, persist: bool = True
    ) -> None:
        delivery = alert.deliveries[name]
        status = self.status.get(name)

        def on_retry(attempt: int, exc: Exception, delay: float) -> None:
            self._record(delivery, status, alert, "retrying", _detail(exc, self.secrets))

        try:
            await retry(
                lambda: self._attempt(channel, alert, delivery),
                attempts=attempts,
                base_delay=self.retry_settings.base_delay,
                max_delay=self.retry_settings.max_delay,
                retry_on=(DeliveryFailed,),
                clock=self.clock,
                on_retry=on_retry,
            )
        except Exception as exc:
            detail = _detail(exc, self.secrets)
            self._record(delivery, status, alert, "failed", detail)
            # Our own errors are expected outcomes; anything else is a bug worth a traceback.
            log = logger if isinstance(exc, ViperError) else logger.opt(exception=exc)
            log.warning(
                "alert {} to channel {} failed after {} tries: {}",
                alert.id,
                name,
                delivery.attempts,
                detail,
            )
        else:
            self._record(delivery, status, alert, "sent", "")
        if persist:
            await self._save(alert)

    async def _attempt(self, channel: AlertChannel, alert: Alert, delivery: Delivery) -> None:
        if self._session is None:
            raise DeliveryFailed("the alert system is not running")
        async with self._slots:  # held for one attempt, not across the backoff sleeps
            delivery.attempts += 1
            secret = await self.secrets.get(channel)
            await send(self._session, channel, alert, secret)

    def _record(
        self,
        delivery: Delivery,
        status: ChannelStatus | None,
        alert: Alert,
        state: DeliveryState,
        error: str,
    ) -> None:
        now = self.clock.now_ms()
        delivery.state, delivery.error, delivery.ts_ms = state, error, now
        if status is None:
            return
        status.last_state, status.last_error, status.last_ts_ms = state, error, now
        status.last_alert_id = alert.id
        if state == "sent":
            status.sent += 1
        elif state == "failed":
            status.failed += 1

    async def _save(self, alert: Alert) -> None:
        try:
            await self._persist(alert)
        except Exception as exc:  # the history is a record, not a reason to lose the alert
            logger.error("could not save delivery state of alert {}: {}", alert.id, exc)


def _detail(exc: BaseException, secrets: SecretResolver) -> str:
    text = exc.detail if isinstance(exc, ViperError) else type(exc).__name__
    return secrets.scrub(text)
