"""Core runtime benchmarks: bus throughput and latency, HTTP load, idle memory, start time.

Targets (issue: core runtime): in-memory bus >= 300k events/s with p99 < 1 ms (1 publisher,
4 subscribers; the median of 5 rounds of 300k events, with the slowest and fastest shown); Redis bus >= 30k events/s; /health >= 5k req/s with p99 < 10 ms on one
worker; idle RSS < 150 MB with every module on; start to healthy < 2 s.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import uvloop

from tests.conftest import free_port, redis_reachable
from tests.performance.conftest import Report
from viper.bus import InMemoryBus
from viper.events import Ticker

EVENTS = 300_000
HTTP_RUNS = 3  # wrk runs of 3 s per endpoint, one worker; the median run is reported
ROUNDS = 5  # the machine's speed drifts between seconds: the median round is reported
VIPER = (sys.executable, "-m", "viper")


def _ticker(i: int) -> Ticker:
    return Ticker(
        ts_ms=time.perf_counter_ns(), exchange="paper", symbol="BTC/USDT:USDT", last=float(i)
    )


async def _memory_bus_run(n: int) -> tuple[float, list[int]]:
    bus = InMemoryBus(queue_size=4096)
    latencies: list[int] = []
    remaining = [4 * n]
    done = asyncio.Event()

    async def timed(event: Ticker) -> None:
        latencies.append(time.perf_counter_ns() - event.ts_ms)
        remaining[0] -= 1
        if not remaining[0]:
            done.set()

    async def plain(event: Ticker) -> None:
        remaining[0] -= 1
        if not remaining[0]:
            done.set()

    bus.subscribe(Ticker, timed, name="timed")
    for i in range(3):
        bus.subscribe(Ticker, plain, name=f"plain{i}")
    await bus.start()
    started = time.perf_counter()
    for i in range(n):
        await bus.publish(_ticker(i))
        if i % 64 == 63:  # a producer that yields now and then, as a stream reader does
            await asyncio.sleep(0)
    await done.wait()
    elapsed = time.perf_counter() - started
    await bus.stop()
    return elapsed, latencies


def test_in_memory_bus_throughput_and_latency(report: Report) -> None:
    # As `viper run` does once serving (ViperApp.settle): what earlier benchmarks left on the
    # heap is collected and frozen, so it is not walked again by every collection in a round.
    gc.collect()
    gc.freeze()
    try:
        rounds = [uvloop.run(_memory_bus_run(EVENTS)) for _ in range(ROUNDS)]
    finally:
        gc.unfreeze()
    rates = sorted(EVENTS / elapsed for elapsed, _ in rounds)
    p50s: list[float] = []
    p99s: list[float] = []
    for _, latencies in rounds:
        latencies.sort()
        p50s.append(latencies[len(latencies) // 2] / 1e6)
        p99s.append(latencies[int(len(latencies) * 0.99)] / 1e6)
    rate = statistics.median(rates)
    p99 = statistics.median(p99s)
    report.add(
        f"in-memory bus: events/s, 1 pub 4 subs (median of {ROUNDS})",
        rate,
        "events/s",
        ">= 300,000",
        rate >= 300_000,
    )
    report.add("  in-memory bus: slowest round", rates[0], "events/s")
    report.add("  in-memory bus: fastest round", rates[-1], "events/s")
    report.add("  in-memory bus: deliveries/s (events x 4 subscribers)", 4 * rate, "deliv/s")
    report.add("  in-memory bus: publish-to-handle p50", statistics.median(p50s), "ms")
    report.add(
        f"in-memory bus: publish-to-handle p99 (median of {ROUNDS})", p99, "ms", "< 1 ms", p99 < 1.0
    )
    report.add("  in-memory bus: worst round's p99", max(p99s), "ms")


async def _redis_bus_run(url: str, n: int) -> tuple[float, float]:
    from viper.redis_bus import RedisBus

    stream = f"viper:bench:{uuid.uuid4().hex}"
    sender = RedisBus(url, stream=stream, maxlen=n * 2)
    receiver = RedisBus(url, stream=stream, maxlen=n * 2)
    received = [0]
    done = asyncio.Event()

    async def count(event: Ticker) -> None:
        received[0] += 1
        if received[0] == n:
            done.set()

    receiver.subscribe(Ticker, count, name="count", maxsize=n)
    await receiver.start()
    await sender.start()
    started = time.perf_counter()
    for i in range(n):
        await sender.publish(_ticker(i))
        if i % 256 == 255:
            await asyncio.sleep(0)
    published = time.perf_counter() - started
    await asyncio.wait_for(done.wait(), 120)
    delivered = time.perf_counter() - started
    await sender.stop()
    await receiver.stop()
    import redis.asyncio as redis_asyncio

    client = redis_asyncio.Redis.from_url(url)
    await client.delete(stream)
    await client.aclose()
    return n / published, n / delivered


def test_redis_bus_throughput(report: Report) -> None:
    problem = redis_reachable()
    if problem:
        pytest.skip(f"Redis not reachable: {problem}")
    n = 100_000
    publish_rate, delivered_rate = uvloop.run(_redis_bus_run("redis://127.0.0.1:6379/14", n))
    report.add("redis bus: events/s published (process A)", publish_rate, "events/s")
    report.add(
        "redis bus: events/s delivered A -> B",
        delivered_rate,
        "events/s",
        ">= 30,000",
        delivered_rate >= 30_000,
    )


Server = tuple[subprocess.Popen[bytes], int, float, str]


def _issue_token(workdir: Path) -> str:
    """A read token from `viper vault token issue`, as an operator gets one."""
    done = subprocess.run(
        [*VIPER, "vault", "token", "issue", "--name", "bench", "--scopes", "read"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`viper run` with every module on (and auth, as shipped); yields the process, its port,
    start-to-healthy seconds and a read token."""
    workdir = tmp_path_factory.mktemp("bench")
    token = _issue_token(workdir)
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "viper", "run", "--port", str(port)],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "VIPER__LOGGING__CONSOLE": "false"},
    )
    healthy = _wait_healthy(port, started)
    yield proc, port, healthy, token
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)


def _wait_healthy(port: int, started: float) -> float:
    while time.perf_counter() - started < 30:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.01)
    raise RuntimeError("viper did not become healthy in 30 s")


def test_start_to_healthy_and_idle_memory(report: Report, server: Server) -> None:
    proc, _, healthy, _ = server
    samples = [healthy]
    for _ in range(2):
        workdir = Path(f"/tmp/viper-bench-{uuid.uuid4().hex}")
        workdir.mkdir()
        p = free_port()
        t0 = time.perf_counter()
        other = subprocess.Popen(
            [sys.executable, "-m", "viper", "run", "--port", str(p)],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        samples.append(_wait_healthy(p, t0))
        other.send_signal(signal.SIGTERM)
        other.wait(timeout=15)
        shutil.rmtree(workdir, ignore_errors=True)
    median = statistics.median(samples)
    report.add(
        "start to healthy (median of 3, every module on)", median, "s", "< 2 s", median < 2.0
    )
    time.sleep(2.0)
    rss = psutil.Process(proc.pid).memory_info().rss / 2**20
    report.add("idle RSS, every module on", rss, "MB", "< 150 MB", rss < 150)


def _wrk(url: str, token: str, seconds: int = 3, connections: int = 32) -> tuple[float, float]:
    auth = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *auth, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99_text = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99_text is not None
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99_text.group(2)]
    return rate, float(p99_text.group(1)) * factor


CONTROL_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def health(request):
    return JSONResponse({"status": "ok"})

app = Starlette(routes=[Route("/health", health)])
"""


CONTROL_ARGS = (
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
)


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A bare Starlette app on uvicorn (uvloop, httptools, no access log): one JSON route, no
    middleware. Measured with the same wrk, interleaved with VIPER's runs, it shows what this
    machine gives a minimal ASGI endpoint in the same minutes."""
    workdir = tmp_path_factory.mktemp("control")
    (workdir / "control_app.py").write_text(CONTROL_APP)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "control_app:app", "--port", str(port), *CONTROL_ARGS],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_healthy(port, time.perf_counter())
    yield port
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)


@pytest.mark.parametrize(
    ("path", "label"),
    [("/health", "/health"), ("/api/services/status", "/api/services/status (JSON)")],
)
def test_http_requests_per_second(
    report: Report, server: Server, control: int, path: str, label: str
) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (make bench installs it with apt-get)")
    _, port, _, token = server
    url, control_url = f"http://127.0.0.1:{port}{path}", f"http://127.0.0.1:{control}/health"
    _wrk(url, token, seconds=1)  # warm-up
    _wrk(control_url, token, seconds=1)
    runs: list[tuple[float, float]] = []
    control_runs: list[tuple[float, float]] = []
    for _ in range(HTTP_RUNS):  # interleaved, so both see the same minutes of this machine
        runs.append(_wrk(url, token))
        control_runs.append(_wrk(control_url, token))
    rate = statistics.median(r for r, _ in runs)
    p99 = statistics.median(p for _, p in runs)
    control_rate = statistics.median(r for r, _ in control_runs)
    control_p99 = statistics.median(p for _, p in control_runs)
    is_health = path == "/health"
    report.add(
        f"HTTP {label}: requests/s (wrk -c32, median of {HTTP_RUNS})",
        rate,
        "req/s",
        ">= 5,000" if is_health else "",
        rate >= 5000 if is_health else None,
    )
    report.add(
        f"HTTP {label}: p99 latency (median of {HTTP_RUNS})",
        p99,
        "ms",
        "< 10 ms" if is_health else "",
        p99 < 10 if is_health else None,
    )
    report.add(f"  HTTP {label}: worst run's p99", max(p for _, p in runs), "ms")
    report.add("  control, bare Starlette JSON route: requests/s", control_rate, "req/s")
    report.add("  control, bare Starlette JSON route: p99 latency", control_p99, "ms")
    report.add(f"  VIPER {label} / control requests/s", rate / control_rate, "x")
