"""A real second process: a child Python subscribes through viper.redis_bus, this test publishes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from viper.events import AlertRaised, Ticker
from viper.redis_bus import RedisBus

pytestmark = [pytest.mark.redis, pytest.mark.timeout(30)]

ROOT = Path(__file__).resolve().parents[2]

# argv: url stream expected seconds. Prints "ready" once subscribed, then one id per AlertRaised.
CHILD = """
import asyncio, sys
from viper.events import AlertRaised
from viper.redis_bus import RedisBus

async def main(url, stream, expected, seconds):
    bus = RedisBus(url, stream=stream, node_id="child")
    done = asyncio.Event()
    seen = 0

    async def on_alert(event):
        nonlocal seen
        print(event.id, flush=True)
        seen += 1
        if seen >= expected:
            done.set()

    bus.subscribe(AlertRaised, on_alert, name="child")
    await bus.start()
    print("ready", flush=True)
    try:
        await asyncio.wait_for(done.wait(), seconds)
    finally:
        await bus.stop()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
"""


async def test_child_process_receives_every_event_of_its_type_once(
    redis_url: str, redis_stream: str
) -> None:
    alerts = [
        AlertRaised(ts_ms=1_700_000_000_000 + i, rule="x", severity="info", message=f"#{i}")
        for i in range(500)
    ]
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", CHILD, redis_url, redis_stream, str(len(alerts)), "8"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    parent = RedisBus(redis_url, stream=redis_stream, node_id="parent")
    try:
        assert child.stdout is not None
        first = await asyncio.wait_for(child.stdout.readline(), timeout=8.0)
        assert first == b"ready\n"
        await parent.start()

        for i, event in enumerate(alerts):
            await parent.publish(event)
            # other event types cross too, and the child must not see them
            await parent.publish(Ticker(ts_ms=i, exchange="bitget", symbol="BTC", last=1.0))
        out, _ = await asyncio.wait_for(child.communicate(), timeout=10.0)
    finally:
        await parent.stop()
        if child.returncode is None:
            child.kill()
            await child.wait()

    assert out.decode().split() == [e.id for e in alerts]
    assert child.returncode == 0
