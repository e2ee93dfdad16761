"""Acceptance: the live source on the real ccxt.pro bitget client against a local fake Bitget.

The fake speaks Bitget's v2 public websocket (candle and ticker channels) and REST candles. It
drops the connection mid-stream and withholds bars meanwhile; the streamer must reconnect,
backfill them over REST in order without gaps or duplicates, and say it resumed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import make_config
from tests.fakes.bitget_ws import SYMBOLS, FakeBitget, bar, eventually
from viper.clock import LiveClock
from viper.config import Config, ExchangeConfig
from viper.events import CandleClosed, MarketDataResumed, MarketDataStale, Ticker
from viper.modules.streamer.module import StreamerModule
from viper.modules.streamer.rest import make_client

if TYPE_CHECKING:
    from tests.integration.modules.streamer.conftest import Harness

STEP = 60_000


@pytest.fixture
async def fake() -> AsyncIterator[FakeBitget]:
    server = await FakeBitget(bars=30).start()
    yield server
    await server.close()


def live_config(tmp_path: Path, **streamer: object) -> Config:
    return make_config(
        tmp_path,
        exchange={"mode": "live"},
        trading={"symbols": list(SYMBOLS), "timeframe": "1m"},
        streamer={"warmup_bars": 5, "reconnect_max_delay_seconds": 0.2, **streamer},
    )


def pointed_at(fake: FakeBitget) -> Any:
    def factory(exchange: ExchangeConfig, websocket: bool) -> Any:
        return fake.point(make_client(exchange, websocket=websocket))

    return factory


def closed_opens(harness: Harness, symbol: str) -> list[int]:
    return [e.candle.ts_ms for e in harness.of(CandleClosed) if e.symbol == symbol]


def last_open(harness: Harness, symbol: str) -> int | None:
    opens = closed_opens(harness, symbol)
    return opens[-1] if opens else None


async def test_dropped_connection_reconnects_and_backfills_without_gap_or_duplicate(
    fake: FakeBitget, harness: Harness, tmp_path: Path
) -> None:
    module = StreamerModule(client_factory=pointed_at(fake))
    await harness.start(module, live_config(tmp_path), LiveClock())
    # warmup over REST: bars 24..28 closed, 29 forming; then the websocket subscriptions
    await eventually(lambda: fake.subscribed("candle1m") == set(SYMBOLS.values()))
    await eventually(lambda: all(last_open(harness, s) == fake.open_ms(28) for s in SYMBOLS))
    await fake.advance(3)  # bars 30, 31, 32 open on the socket: 29..31 close
    await eventually(lambda: all(last_open(harness, s) == fake.open_ms(31) for s in SYMBOLS))

    await fake.advance(4, push=False)  # bars 33..36 open while nothing is pushed...
    await fake.disconnect()  # ...and the connection drops
    await eventually(lambda: len(harness.of(MarketDataResumed)) == len(SYMBOLS))
    await fake.advance(2)  # back on the socket: bars 37, 38 open, 36 and 37 close
    await eventually(lambda: all(last_open(harness, s) == fake.open_ms(37) for s in SYMBOLS))

    assert fake.connections >= 2
    for symbol, market_id in SYMBOLS.items():
        events = [e for e in harness.of(CandleClosed) if e.symbol == symbol]
        assert [e.candle.ts_ms for e in events] == [fake.open_ms(i) for i in range(24, 38)]
        assert [e.candle.close for e in events] == [
            float(bar(market_id, i, STEP)[4]) for i in range(24, 38)
        ]
    resumed = {e.symbol: e for e in harness.of(MarketDataResumed)}
    assert {s: e.backfilled for s, e in resumed.items()} == dict.fromkeys(SYMBOLS, 4)
    for symbol in SYMBOLS:  # resumed after the backfilled bars, before the next live one
        order = [e for e in harness.events if getattr(e, "symbol", None) == symbol]
        at = order.index(resumed[symbol])
        before = [e.candle.ts_ms for e in order[:at] if isinstance(e, CandleClosed)]
        after = [e.candle.ts_ms for e in order[at:] if isinstance(e, CandleClosed)]
        assert before[-1] == fake.open_ms(35) and after[0] == fake.open_ms(36)
    health = module.health()
    assert health.status == "ok", health.detail
    assert health.checks["reconnects"] == 2 and health.checks["backfilled"] == 8
    assert harness.of(Ticker) and harness.of(Ticker)[-1].bid is not None


async def test_silent_feed_goes_stale_and_degraded_then_resumes_ok(
    fake: FakeBitget, harness: Harness, tmp_path: Path
) -> None:
    module = StreamerModule(client_factory=pointed_at(fake))
    await harness.start(module, live_config(tmp_path, stale_after_seconds=0.4), LiveClock())
    await eventually(lambda: fake.subscribed("ticker") == set(SYMBOLS.values()))
    await fake.advance(1)
    await eventually(lambda: all(last_open(harness, s) == fake.open_ms(29) for s in SYMBOLS))
    seen = len(harness.events)

    # the fake pushes nothing more: both symbols go stale, once each
    await eventually(lambda: len(module.health().checks["stale"]) == len(SYMBOLS))
    health = module.health()
    assert health.status == "degraded"
    assert all(symbol in health.detail for symbol in SYMBOLS)
    await eventually(lambda: len(harness.of(MarketDataStale)) >= len(SYMBOLS))
    stale = [e for e in harness.events[seen:] if isinstance(e, MarketDataStale)]
    assert sorted(e.symbol for e in stale) == sorted(SYMBOLS)
    assert all(e.silent_seconds >= 0.4 and e.source == "live" for e in stale)

    await fake.advance(1)  # data again
    await eventually(lambda: module.health().status == "ok")
    await eventually(lambda: len(harness.of(MarketDataResumed)) >= len(SYMBOLS))
    resumed = [e for e in harness.events[seen:] if isinstance(e, MarketDataResumed)]
    assert sorted(e.symbol for e in resumed) == sorted(SYMBOLS)
    assert all(e.backfilled == 0 for e in resumed)
    assert module.health().checks["stale"] == []


async def test_stop_closes_the_ccxt_client_and_is_safe_twice(
    fake: FakeBitget, harness: Harness, tmp_path: Path
) -> None:
    clients: list[Any] = []

    def factory(exchange: ExchangeConfig, websocket: bool) -> Any:
        clients.append(fake.point(make_client(exchange, websocket=websocket)))
        return clients[-1]

    module = StreamerModule(client_factory=factory)
    await harness.start(module, live_config(tmp_path), LiveClock())
    await eventually(lambda: fake.subscribed("candle1m") == set(SYMBOLS.values()))
    await module.stop()
    await module.stop()
    assert clients[0].clients == {} and clients[0].session is None
    await eventually(lambda: all(ws.closed for ws in fake.sockets))
    assert module.health().status == "down"
