"""Fixtures for the backtester over HTTP: an app running api, data and backtester on seeded candles."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from tests.conftest import make_config
from viper.app import ViperApp
from viper.marketdata.synthetic import generate
from viper.store.candles import CandleStore

START = 1_704_067_200_000  # 2024-01-01
BTC, ETH, SOL = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"
MODULES = ["api", "data", "backtester"]
LONG_BARS = 1_500_000  # SOL: about three years of 1m bars, for jobs worth cancelling


def seed(
    root: Path, symbols: tuple[str, ...] = (BTC, ETH), bars: int = 20_000
) -> dict[str, pl.DataFrame]:
    """Synthetic 1m candles from 2024-01-01 in the store under `root`."""
    frames = generate(list(symbols), "1m", START, bars, seed=3)
    store = CandleStore(root)
    for symbol, frame in frames.items():
        store.write("bitget", symbol, "1m", frame)
    return frames


def request_body(**fields: Any) -> dict[str, Any]:
    """A valid original-API body over the seeded candles, with `fields` changed."""
    body: dict[str, Any] = {
        "symbols": [BTC, ETH],
        "start_date": "2024-01-01",
        "end_date": "2024-01-10",
        "initial_capital": 10_000,
        "risk_per_trade": 0.01,
        "score_threshold": 75,
    }
    body.update(fields)
    return body


async def client_for(app: ViperApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app.http), base_url="http://viper")


async def wait_job(http: httpx.AsyncClient, job_id: str, within: float = 90.0) -> dict[str, Any]:
    """Poll the job until it leaves queued/running."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        job = (await http.get(f"/backtester/backtest/{job_id}")).json()
        if job["state"] not in ("queued", "running"):
            return job
        await asyncio.sleep(0.05)
    pytest.fail(f"backtest job {job_id} did not finish in {within} s")


async def wait_state(
    http: httpx.AsyncClient, job_id: str, state: str, within: float = 30.0
) -> dict[str, Any]:
    """Poll the job until it reaches `state`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        job = (await http.get(f"/backtester/backtest/{job_id}")).json()
        if job["state"] == state:
            return job
        await asyncio.sleep(0.01)
    pytest.fail(f"backtest job {job_id} never reached {state}")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    """api + data + backtester with two workers, BTC and ETH seeded."""
    config = make_config(tmp_path, modules={"enabled": MODULES}, backtester={"workers": 2})
    seed(Path(config.store.candles_dir))
    viper = ViperApp(config)
    async with viper.running():
        yield viper


@pytest.fixture
async def http(app: ViperApp) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app) as client:
        yield client
