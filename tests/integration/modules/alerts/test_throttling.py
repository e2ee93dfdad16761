"""A rule firing 100 times in a minute sends one alert at once and one summary at window end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.receiver import Receiver
from tests.integration.modules.alerts.conftest import rejected
from viper.clock import TestClock
from viper.config import WebhookChannel
from viper.modules.alerts.alerter import Alerter
from viper.modules.alerts.delivery import Dispatcher, RetrySettings
from viper.modules.alerts.history import AlertFilter, AlertHistory
from viper.modules.alerts.rules import RuleSettings
from viper.modules.alerts.secrets import SecretResolver
from viper.store.sqlite import Database


@pytest.fixture
async def hook() -> AsyncIterator[Receiver]:
    async with Receiver() as receiver:
        yield receiver


@pytest.fixture
async def alerter(tmp_path: Path, clock: TestClock, hook: Receiver) -> AsyncIterator[Alerter]:
    db = Database(tmp_path / "viper.db")
    await db.open()
    history = AlertHistory(db)
    await history.open()
    dispatcher = Dispatcher(
        clock=clock,
        secrets=SecretResolver(lambda: None, None),
        retry_settings=RetrySettings(attempts=2, base_delay=0.01, max_delay=0.01),
        persist=history.save_deliveries,
    )
    dispatcher.put(WebhookChannel(url=hook.url("/h")), "config")
    await dispatcher.open()
    yield Alerter(
        settings=RuleSettings(window_seconds=60),
        history=history,
        dispatcher=dispatcher,
        clock=clock,
    )
    await dispatcher.close()
    await db.close()


async def test_hundred_fires_in_a_minute_send_one_alert_and_one_summary(
    alerter: Alerter, clock: TestClock, hook: Receiver
) -> None:
    for _ in range(100):
        await alerter.handle(rejected())
        clock.advance(0.5)  # 100 fires over 50 s
    await alerter.dispatcher.drain()
    assert len(hook.requests) == 1

    assert await alerter.flush_due() == []  # the window has not ended yet
    clock.advance(10)
    summaries = await alerter.flush_due()
    await alerter.dispatcher.drain()

    assert [s.kind for s in summaries] == ["summary"]
    assert summaries[0].count == 99
    assert [r.json()["kind"] for r in hook.requests] == ["alert", "summary"]
    assert hook.requests[1].json()["message"].startswith("+99 more in the last minute")
    total, stored = await alerter.history.page(AlertFilter(), 0, 10)
    assert total == 2 and [a.kind for a in stored] == ["summary", "alert"]
    clock.advance(120)
    assert await alerter.flush_due() == []


async def test_a_fire_after_the_window_is_a_new_alert(
    alerter: Alerter, clock: TestClock, hook: Receiver
) -> None:
    await alerter.handle(rejected())
    clock.advance(61)
    assert await alerter.flush_due() == []  # no repeats: no summary
    await alerter.handle(rejected())
    await alerter.dispatcher.drain()
    assert [r.json()["kind"] for r in hook.requests] == ["alert", "alert"]


async def test_many_keys_of_one_rule_are_capped_per_window(
    alerter: Alerter, clock: TestClock, hook: Receiver
) -> None:
    alerter.apply(RuleSettings(window_seconds=60, max_per_window=3))
    for i in range(10):
        await alerter.handle(rejected(symbol=f"COIN{i}/USDT:USDT"))
    clock.advance(60)
    summaries = await alerter.flush_due()
    await alerter.dispatcher.drain()
    assert len(hook.requests) == 4
    assert [(s.key, s.count) for s in summaries] == [("*", 7)]
    assert summaries[0].message.startswith("+7 more for other keys in the last minute")
