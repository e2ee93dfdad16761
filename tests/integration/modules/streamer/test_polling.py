"""Acceptance: REST polling (the real ccxt bitget client against a local fake Bitget).

Polls come far more often than bars close, so every bar is seen many times; each must be
published once, in order, and bars that close while the exchange fails are caught up after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import make_config
from tests.fakes.bitget_ws import SYMBOLS, FakeBitget, eventually
from viper.clock import LiveClock
from viper.config import ExchangeConfig
from viper.events import CandleClosed, MarketDataResumed, Ticker
from viper.modules.streamer.module import StreamerModule
from viper.modules.streamer.rest import make_client

if TYPE_CHECKING:
    from tests.integration.modules.streamer.conftest import Harness


@pytest.fixture
async def fake() -> AsyncIterator[FakeBitget]:
    server = await FakeBitget(bars=10).start()
    yield server
    await server.close()


def opens(harness: Harness, symbol: str) -> list[int]:
    return [e.candle.ts_ms for e in harness.of(CandleClosed) if e.symbol == symbol]


async def test_polling_emits_each_closed_candle_once_and_catches_up_after_failures(
    fake: FakeBitget, harness: Harness, tmp_path: Path
) -> None:
    def factory(exchange: ExchangeConfig, websocket: bool) -> Any:
        assert websocket is False
        return fake.point(make_client(exchange, websocket=False))

    config = make_config(
        tmp_path,
        trading={"symbols": list(SYMBOLS), "timeframe": "1m"},
        streamer={"source": "poll", "poll_interval_seconds": 0.02, "warmup_bars": 3,
                  "reconnect_max_delay_seconds": 0.1},
    )  # fmt: skip
    module = await harness.start(StreamerModule(client_factory=factory), config, LiveClock())
    await eventually(lambda: all(len(opens(harness, s)) == 3 for s in SYMBOLS))
    polls = module.health().checks["polls"]
    await fake.advance(2, push=False)  # bars 10, 11 open: 9 and 10 close
    await eventually(lambda: module.health().checks["polls"] >= polls + 5)

    fake.rest_failures = 10**6  # the exchange fails...
    await eventually(lambda: len(module.health().checks["reconnecting"]) == len(SYMBOLS))
    assert module.health().status == "degraded"
    await fake.advance(3, push=False)  # ...while bars 11, 12, 13 close
    fake.rest_failures = 0
    await eventually(lambda: len(harness.of(MarketDataResumed)) == len(SYMBOLS))
    await eventually(lambda: module.health().status == "ok")

    for symbol in SYMBOLS:
        assert opens(harness, symbol) == [fake.open_ms(i) for i in range(6, 14)]
    assert all(e.backfilled == 3 for e in harness.of(MarketDataResumed))
    assert module.health().checks["backfilled"] == 6
    tickers = harness.of(Ticker)
    assert {t.symbol for t in tickers} == set(SYMBOLS) and tickers[-1].ask is not None
