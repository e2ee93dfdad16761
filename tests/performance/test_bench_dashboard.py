"""Dashboard live feed under load: 200 dashboards on /web/events at once while paper trading runs.

A real `viper run` (every module, the synthetic market replayed at 60x, then 600x) serves 200 aiohttp
sessions reading the SSE stream on 127.0.0.1 for a fixed window. Each client counts what it
received and compares it with what was published to it: frame ids number every dashboard event
the server offered that client (a dropped one still takes its number), and, across clients,
every client must hold every event any client saw in the window the clients shared.

Targets (issue 7: dashboard): every client receives every update; server RSS < 300 MB.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import psutil
import pytest

from tests.browser.server import ViperProcess
from tests.performance.conftest import Report

CLIENTS = 200
WINDOW_SECONDS = 20.0
# Replay speeds: 60x is a bar (candle, tick, score) per symbol per second; 600x ten of them.
SPEEDS = (60.0, 600.0)
RSS_TARGET_MB = 300.0
MB = 1024 * 1024


class Dashboard:
    """One client: the event id and frame number of every update it read."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.seqs: list[int] = []
        self.hello = asyncio.Event()

    async def read(self, url: str, headers: dict[str, str]) -> None:
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as answer:
            assert answer.status == 200, await answer.text()
            name, seq = b"", 0
            async for raw in answer.content:
                line = raw.rstrip(b"\n")
                if line.startswith(b"id: "):
                    seq = int(line[4:])
                elif line.startswith(b"event: "):
                    name = line[7:]
                elif line.startswith(b"data: "):
                    if name == b"hello":
                        self.hello.set()
                        continue
                    at = line.rfind(b'"id":"')  # the event's own id comes last in its JSON
                    self.ids.append(line[at + 6 : at + 38].decode())
                    self.seqs.append(seq)
                elif not line:
                    name, seq = b"", 0

    def published(self) -> int:
        """Updates the server offered this client between its first and last frame."""
        return self.seqs[-1] - self.seqs[0] + 1 if self.seqs else 0

    def gaps(self) -> int:
        return sum(1 for a, b in zip(self.seqs, self.seqs[1:], strict=False) if b != a + 1)


@pytest.fixture(params=SPEEDS, ids=lambda speed: f"{speed:g}x")
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ViperProcess]:
    process = ViperProcess(tmp_path, speed=request.param)
    yield process
    process.stop()


class RssSampler:
    """The server's resident memory, sampled every 0.2 s; the peak."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0

    async def run(self) -> None:
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss)
            await asyncio.sleep(0.2)


def web_checks(server: ViperProcess) -> dict[str, int]:
    health = httpx.get(f"{server.base}/health", headers=server.headers(), timeout=5).json()
    checks: dict[str, int] = health["modules"]["web"]["health"]["checks"]
    return checks


async def test_bench_200_dashboards_each_receive_every_update(
    server: ViperProcess, report: Report
) -> None:
    proc = psutil.Process(server.pid)
    await asyncio.sleep(2.0)  # past the warm-up burst
    idle_rss = proc.memory_info().rss
    sampler = RssSampler(server.pid)
    sampling = asyncio.create_task(sampler.run())
    clients = [Dashboard() for _ in range(CLIENTS)]
    url = f"{server.base}/web/events"
    readers = [asyncio.create_task(c.read(url, server.headers())) for c in clients]
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*(c.hello.wait() for c in clients))
        connected = web_checks(server)["clients"]
        proc.cpu_percent()
        started = time.perf_counter()
        await asyncio.sleep(WINDOW_SECONDS)
        cpu = proc.cpu_percent()
        elapsed = time.perf_counter() - started
        lost = web_checks(server)["lost"]
        failed = [r for r in readers if r.done()]
        assert not failed, failed[0].exception()
    finally:
        for task in (*readers, sampling):
            task.cancel()
        await asyncio.gather(*readers, sampling, return_exceptions=True)

    # The window every client shared: after the last first event, before the first last one.
    assert all(c.ids for c in clients), "a client received nothing"
    low = max(c.ids[0] for c in clients)
    high = min(c.ids[-1] for c in clients)
    seen = [{i for i in c.ids if low < i < high} for c in clients]
    expected = set().union(*seen)
    missed_shared = sum(len(expected) - len(s) for s in seen)
    missed_offered = sum(c.published() - len(c.ids) for c in clients)
    gaps = sum(c.gaps() for c in clients)
    per_client = [len(c.ids) for c in clients]

    title = f"dashboard feed at {server.speed:g}x replay: clients connected"
    report.add(title, connected, "clients", f"{CLIENTS}")
    report.add("  dashboard events in the shared window", len(expected), "events")
    report.add("  dashboard events per second", len(expected) / elapsed, "events/s")
    report.add("  updates per client (mean)", sum(per_client) / CLIENTS, "updates")
    report.add("  updates per client (min)", min(per_client), "updates")
    report.add("  frames delivered per second (all clients)", sum(per_client) / elapsed, "frames/s")
    missed = missed_shared + missed_offered + gaps
    report.add("  missed updates (all clients)", missed, "updates", "0", missed == 0)
    report.add("  updates the server dropped (web health 'lost')", lost, "updates", "0", lost == 0)
    report.add("  server CPU during the window", cpu, "%")
    report.add("  server RSS before the clients", idle_rss / MB, "MB")
    peak_mb = sampler.peak / MB
    report.add(
        "  server RSS peak with the clients", peak_mb, "MB", "< 300 MB", peak_mb < RSS_TARGET_MB
    )
    report.add("  server RSS added by the clients", (sampler.peak - idle_rss) / MB, "MB")

    assert connected == CLIENTS
    assert len(expected) > 0
    assert missed == 0 and lost == 0, f"missed {missed} updates, server dropped {lost}"
