"""A real `viper run` for the browser tests and the dashboard benchmark: paper trading on the
synthetic market replayed fast, stored candles for backtests, output kept in a log file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port
from viper.config import ENV_PREFIX, LEGACY_ENV
from viper.marketdata.synthetic import generate
from viper.store.candles import CandleStore

SEEDED = ("BTC/USDT:USDT", "ETH/USDT:USDT")
SEED_START_MS = 1_704_067_200_000  # 2024-01-01
SEED_BARS = 8_000  # about five and a half days of 1m bars
# The first-start admin token, printed once inside a frame on stderr.
_TOKEN = re.compile(r"^\s+(vpr_[A-Za-z0-9_\-]+)\s*$", re.MULTILINE)


def seed_candles(workdir: Path) -> None:
    """Synthetic 1m candles in the store `viper run` reads from `workdir`."""
    store = CandleStore(workdir / "data" / "candles")
    for symbol, frame in generate(list(SEEDED), "1m", SEED_START_MS, SEED_BARS, seed=3).items():
        store.write("bitget", symbol, "1m", frame)


def clean_env(**overrides: str) -> dict[str, str]:
    """This environment without VIPER's variables, plus `overrides`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(ENV_PREFIX) and k not in LEGACY_ENV and k != "VIPER_MASTER_KEY"
    }
    return {**env, **overrides}


class ViperProcess:
    """`viper run` in `workdir` on a free port; `token` is the first-start admin token."""

    def __init__(self, workdir: Path, *, auth: bool = True, speed: float = 60.0) -> None:
        self.workdir = workdir
        self.speed = speed
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        self.token: str | None = None
        env = clean_env(
            VIPER__STREAMER__SPEED=str(speed),
            VIPER__STREAMER__REPLAY_DATA="synthetic",  # the stored candles are for backtests
            VIPER__AUTH__ENABLED="true" if auth else "false",
            VIPER__LOGGING__LEVEL="INFO",
        )
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "viper", "run", "--port", str(self.port)],
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self._wait_healthy(auth, timeout=30.0)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def _wait_healthy(self, auth: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"viper run exited {self.proc.returncode}:\n{self.output()}")
            try:
                healthy = httpx.get(f"{self.base}/health", timeout=1.0).status_code == 200
            except httpx.TransportError:
                healthy = False
            if healthy:
                found = _TOKEN.search(self.output())
                self.token = found.group(1) if found else None
                if self.token or not auth:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"viper run did not come up in {timeout} s:\n{self.output()}")

    def headers(self) -> dict[str, str]:
        """The bearer header of the admin token (none when authentication is off)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def stop(self) -> int | None:
        """SIGTERM, then a kill if it does not exit in 20 s; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
