"""The real process: `viper run` answers /health quickly, serves legacy ports, exits 0 on signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port


def start(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "viper", "run", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )


def issue_token(tmp_path: Path, scopes: str = "trade") -> str:
    """A token from `viper vault token issue`, as an operator gets one before a start."""
    command = ["vault", "token", "issue", "--name", "test", "--scopes", scopes]
    done = subprocess.run(
        [sys.executable, "-m", "viper", *command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def wait_healthy(port: int, timeout: float) -> float:
    """Seconds until /health answered 200; fails after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    pytest.fail(f"/health did not answer 200 within {timeout} s")


@pytest.fixture
def process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    proc = start(tmp_path, "--port", str(port))
    yield proc, port
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_answers_health_within_five_seconds_and_exits_0_on_signal(
    tmp_path: Path, sig: signal.Signals
) -> None:
    port = free_port()
    proc = start(tmp_path, "--port", str(port))
    try:
        elapsed = wait_healthy(port, 5.0)
        assert elapsed < 5.0
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert f"{sig.name} received: stopping" in output
    assert "Traceback" not in output
    records = [
        json.loads(line) for line in (tmp_path / "logs" / "viper.jsonl").read_text().splitlines()
    ]
    messages = [r["message"] for r in records]
    assert any("17 modules running" in m for m in messages)


def test_modules_stop_in_reverse_start_order(
    tmp_path: Path, process: tuple[subprocess.Popen[str], int]
) -> None:
    proc, port = process
    wait_healthy(port, 5.0)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=15)
    assert proc.returncode == 0
    log = (tmp_path / "logs" / "viper.jsonl").read_text().splitlines()
    messages = [json.loads(line)["message"] for line in log]
    started = next(m for m in messages if "modules running" in m).split(": ", 1)[1].split(", ")
    stopped = next(m for m in messages if m.startswith("modules stopped")).split(": ", 1)[1]
    assert len(started) == 17
    assert stopped.split(", ") == list(reversed(started))


def test_legacy_ports_serve_each_module_at_its_root(tmp_path: Path) -> None:
    offset = free_port() % 1000 + 40000 - 8000
    port = free_port()
    env = {"VIPER__SERVER__LEGACY_PORTS": "true", "VIPER__SERVER__LEGACY_PORT_OFFSET": str(offset)}
    auth = {"Authorization": f"Bearer {issue_token(tmp_path)}"}
    proc = start(tmp_path, "--port", str(port), env=env)
    try:
        wait_healthy(port, 5.0)
        legacy = f"http://127.0.0.1:{8001 + offset}/backtest"
        assert httpx.post(legacy, json={}).status_code == 401  # guarded like the main port
        backtester = httpx.post(legacy, json={}, headers=auth)
        assert backtester.status_code == 422  # the empty body lacks its symbols
        assert backtester.json()["field"] == "symbols"
        health = httpx.get(f"http://127.0.0.1:{8016 + offset}/health", headers=auth).json()
        assert health["module"] == "logger"
        same = httpx.post(f"http://127.0.0.1:{port}/backtester/backtest", json={}, headers=auth)
        assert same.status_code == backtester.status_code
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_taken_port_is_a_clear_error_exit_2(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        proc = start(tmp_path, "--port", str(port))
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert f"server.port: cannot listen on 127.0.0.1:{port}" in output
    assert "Traceback" not in output
