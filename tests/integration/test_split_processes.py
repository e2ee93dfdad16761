"""Two `viper run` processes on the Redis bus: each sees the other's modules; config keys land."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import free_port


def start(workdir: Path, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "viper", "run", "--port", str(port)],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **env},
    )


def wait_for(predicate: object, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = predicate()  # type: ignore[operator]
        except httpx.TransportError:
            last = None
        if last:
            return last
        time.sleep(0.05)
    pytest.fail(f"condition not met within {timeout} s (last: {last!r})")


@pytest.fixture
def stream(redis_url: str) -> Iterator[str]:
    name = f"viper:test:{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(redis_url)
    client.delete(name)
    client.close()


def test_events_cross_between_two_processes_with_different_modules(
    tmp_path: Path, redis_url: str, stream: str
) -> None:
    common = {
        "VIPER__BUS__BACKEND": "redis",
        "VIPER__REDIS__URL": redis_url,
        "VIPER__BUS__STREAM": stream,
        "VIPER__SERVER__NODE_STATUS_SECONDS": "0.5",
        "VIPER__LOGGING__CONSOLE": "false",
        # Neither process runs the vault, which holds the API tokens: no auth on this bus test.
        "VIPER__AUTH__ENABLED": "false",
    }
    port_a, port_b = free_port(), free_port()
    a = start(tmp_path / "a", port_a, {**common, "VIPER__MODULES__ENABLED": "api,risk,exchange"})
    b = start(tmp_path / "b", port_b, {**common, "VIPER__MODULES__ENABLED": "api,data,backtester"})
    try:

        def nodes_seen_by(port: int) -> list[dict]:
            body = httpx.get(f"http://127.0.0.1:{port}/api/services/status", timeout=1).json()
            settled = [n for n in body["nodes"] if set(n["modules"].values()) == {"running"}]
            return [n for n in settled if len(n["modules"]) == 3]

        seen_by_b = wait_for(lambda: nodes_seen_by(port_b), 15)
        seen_by_a = wait_for(lambda: nodes_seen_by(port_a), 15)
        assert seen_by_b[0]["modules"] == {
            "api": "running",
            "risk": "running",
            "exchange": "running",
        }
        assert seen_by_a[0]["modules"] == {
            "api": "running",
            "data": "running",
            "backtester": "running",
        }
        assert seen_by_b[0]["node"].endswith(f":{a.pid}")
        assert seen_by_a[0]["node"].endswith(f":{b.pid}")
        own_b = httpx.get(f"http://127.0.0.1:{port_b}/api/services/status").json()
        assert {s["name"] for s in own_b["services"] if s["enabled"]} == {
            "api",
            "data",
            "backtester",
        }
    finally:
        for proc in (a, b):
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=20)[0] for proc in (a, b)]
    assert a.returncode == 0, outputs[0]
    assert b.returncode == 0, outputs[1]


def test_risk_settings_and_symbols_are_published_under_the_original_keys(
    tmp_path: Path, redis_url: str, stream: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete("config:risk_management", "config:trading_symbols")
    port = free_port()
    env = {
        "VIPER__REDIS__URL": redis_url,
        "VIPER__BUS__STREAM": stream,
        "RISK_PER_TRADE": "0.015",
        "VIPER__TRADING__SYMBOLS": "BTC/USDT:USDT,SOL/USDT:USDT",
        "VIPER__MODULES__ENABLED": "api",
        "VIPER__AUTH__ENABLED": "false",  # no vault in this process, so no tokens to check
    }
    proc = start(tmp_path, port, env)
    try:
        wait_for(lambda: client.get("config:trading_symbols"), 10)
        risk = json.loads(client.get("config:risk_management"))  # type: ignore[arg-type]
        symbols = json.loads(client.get("config:trading_symbols"))  # type: ignore[arg-type]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
        client.close()
    assert risk["risk_per_trade"] == 0.015
    assert risk["max_leverage"] == 10
    assert symbols == ["BTC/USDT:USDT", "SOL/USDT:USDT"]
