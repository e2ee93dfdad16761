"""The latest score under `viper_score:{symbol}:{timeframe}` in Redis; a Redis fault never stops scoring."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import msgspec
import redis.asyncio as redis_asyncio

from tests.conftest import free_port, make_config
from viper.app import ViperApp
from viper.domain import Candle
from viper.events import CandleClosed
from viper.http import encode
from viper.modules.signal import module as SignalModule
from viper.modules.signal.views import ScoreView

T0 = 1_700_000_000_000
STEP = 60_000
SYMBOL = "REDIS/USDT:USDT"


async def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def publish_rising(app: ViperApp, bars: int = 30) -> None:
    for i in range(bars):
        close = 100.0 + i + (i % 3)
        candle = Candle(
            ts_ms=T0 + i * STEP,
            open=close - 1,
            high=close + 1,
            low=close - 2,
            close=close,
            volume=5.0,
        )
        event = CandleClosed(
            ts_ms=candle.ts_ms + STEP,
            exchange="paper",
            symbol=SYMBOL,
            timeframe="1m",
            candle=candle,
        )
        await app.bus.publish(event)


def signal_module(app: ViperApp) -> SignalModule:
    module = app.modules["signal"]
    assert isinstance(module, SignalModule)
    return module


async def test_latest_score_is_written_under_the_original_key_with_the_scores_ttl(
    tmp_path: Path, redis_url: str
) -> None:
    config = make_config(
        tmp_path,
        modules={"enabled": ["signal"]},
        redis={"url": redis_url, "publish_config": False},
        cache={"scores_ttl_seconds": 120},
    )
    key = f"viper_score:{SYMBOL}:1m"
    client = redis_asyncio.Redis.from_url(redis_url)
    await client.delete(key)
    app = ViperApp(config)
    try:
        async with app.running():
            module = signal_module(app)
            await publish_rising(app)
            await eventually(lambda: module.processor.scored == 30 - 19)
            latest = module.processor.latest(SYMBOL).scores[0]
            async with asyncio.timeout(10):  # the sink writes in the background
                while (raw := await client.get(key)) is None or raw != encode(latest):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            assert msgspec.json.decode(raw, type=ScoreView) == latest
            assert 0 < await client.ttl(key) <= 120
            assert module.health().checks["redis"] == "ok"
    finally:
        await client.delete(key)
        await client.aclose()


async def test_a_redis_that_is_down_is_counted_and_scoring_goes_on(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        modules={"enabled": ["signal"]},
        redis={"url": f"redis://127.0.0.1:{free_port()}/14", "publish_config": False},
    )
    app = ViperApp(config)
    async with app.running():
        module = signal_module(app)
        await publish_rising(app)
        await eventually(lambda: module.sink is not None and module.sink.errors > 0, seconds=20)
        assert module.processor.scored == 30 - 19
        health = module.health()
        assert health.status == "degraded" and health.checks["redis_errors"] >= 1
