"""The data module over HTTP: datasets, paginated candles (JSON and Parquet), sync jobs, cache."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import polars as pl
import pytest
import redis.asyncio as redis_asyncio

from tests.conftest import make_config
from tests.fakes.bitget import FakeBitget, make_candles
from viper.app import ViperApp
from viper.marketdata.synthetic import generate
from viper.protocols import CandleSource
from viper.store.candles import CandleStore

START = 1_704_067_200_000  # 2024-01-01
SYMBOL = "BTC/USDT:USDT"


def seed_store(
    root: Path, bars: int = 2_500, hole: tuple[int, int] | None = (100, 110)
) -> pl.DataFrame:
    frame = generate([SYMBOL], "1m", START, bars, seed=3)[SYMBOL]
    if hole is not None:
        frame = pl.concat([frame.head(hole[0]), frame.slice(hole[1])])
    CandleStore(root).write("bitget", SYMBOL, "1m", frame)
    return frame


async def client_for(app: ViperApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app.http), base_url="http://viper")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    config = make_config(tmp_path, modules={"enabled": ["api", "data"]})
    viper = ViperApp(config)
    async with viper.running():
        yield viper


async def test_lists_datasets_with_rows_span_and_gaps(app: ViperApp) -> None:
    frame = seed_store(Path(app.config.store.candles_dir))
    async with await client_for(app) as http:
        body = (await http.get("/data/data")).json()
        filtered = (await http.get("/data/data", params={"symbol": "ETH/USDT:USDT"})).json()
    assert body["count"] == 1
    dataset = body["datasets"][0]
    assert (
        dataset["symbol"] == SYMBOL
        and dataset["timeframe"] == "1m"
        and dataset["exchange"] == "bitget"
    )
    assert dataset["rows"] == frame.height
    assert dataset["gaps"] == 10
    assert dataset["first_ms"] == START
    assert filtered["count"] == 0


async def test_pages_through_every_candle_once_in_order(app: ViperApp) -> None:
    frame = seed_store(Path(app.config.store.candles_dir))
    seen: list[int] = []
    params: dict[str, str | int] = {"symbol": SYMBOL, "timeframe": "1m", "limit": 700}
    async with await client_for(app) as http:
        while True:
            body = (await http.get("/data/candles", params=params)).json()
            seen.extend(row[0] for row in body["candles"])
            if body["next_start"] is None:
                break
            params["start"] = body["next_start"]
    assert seen == frame["timestamp"].to_list()


async def test_range_and_descending_order(app: ViperApp) -> None:
    frame = seed_store(Path(app.config.store.candles_dir), hole=None)
    start, end = START + 60_000 * 10, START + 60_000 * 20
    async with await client_for(app) as http:
        ranged = (
            await http.get(
                "/data/candles",
                params={"symbol": SYMBOL, "timeframe": "1m", "start": start, "end": end},
            )
        ).json()
        iso = (
            await http.get(
                "/data/candles",
                params={
                    "symbol": SYMBOL,
                    "timeframe": "1m",
                    "start": "2024-01-01T00:10:00Z",
                    "end": "2024-01-01 00:20:00",
                },
            )
        ).json()
        desc = (
            await http.get(
                "/data/candles",
                params={"symbol": SYMBOL, "timeframe": "1m", "order": "desc", "limit": 3},
            )
        ).json()
    assert [r[0] for r in ranged["candles"]] == list(range(start, end, 60_000))
    assert iso["candles"] == ranged["candles"]
    assert ranged["candles"][0][4] == frame["close"][10]
    assert [r[0] for r in desc["candles"]] == frame["timestamp"].tail(3).reverse().to_list()
    assert desc["next_end"] == desc["candles"][-1][0]


async def test_parquet_download_reads_back_identical(app: ViperApp) -> None:
    frame = seed_store(Path(app.config.store.candles_dir))
    async with await client_for(app) as http:
        response = await http.get(
            "/data/candles",
            params={"symbol": SYMBOL, "timeframe": "1m", "format": "parquet", "limit": 5000},
        )
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    assert "attachment" in response.headers["content-disposition"]
    assert pl.read_parquet(io.BytesIO(response.content)).equals(frame)


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"symbol": "NOPE/USDT:USDT", "timeframe": "1m"}, 404, None),
        ({"symbol": SYMBOL, "timeframe": "7x"}, 422, "timeframe"),
        ({"symbol": SYMBOL, "timeframe": "1m", "limit": 10**7}, 422, "limit"),
        ({"symbol": SYMBOL, "timeframe": "1m", "limit": 0}, 422, "limit"),
        ({"symbol": SYMBOL, "timeframe": "1m", "start": "yesterday"}, 422, "start"),
        ({"symbol": SYMBOL, "timeframe": "1m", "start": 2000, "end": 1000}, 422, "end"),
        ({"symbol": SYMBOL, "timeframe": "1m", "colour": "red"}, 422, "colour"),
        ({"timeframe": "1m"}, 422, "symbol"),
    ],
)
async def test_bad_candle_queries_get_clear_errors(
    app: ViperApp, params: dict, status: int, field: str | None
) -> None:
    seed_store(Path(app.config.store.candles_dir))
    async with await client_for(app) as http:
        response = await http.get("/data/candles", params=params)
    assert response.status_code == status
    body = response.json()
    if field is not None:
        assert body["field"] == field
    else:
        assert "NOPE/USDT:USDT" in body["detail"]


async def test_second_read_is_a_memory_cache_hit(app: ViperApp) -> None:
    seed_store(Path(app.config.store.candles_dir))
    async with await client_for(app) as http:
        for _ in range(3):
            await http.get(
                "/data/candles", params={"symbol": SYMBOL, "timeframe": "1m", "limit": 10}
            )
        metrics = (await http.get("/metrics")).text
    assert 'viper_cache_hits_total{kind="market_data",level="memory"} 2.0' in metrics
    assert 'viper_cache_hits_total{kind="market_data",level="source"} 1.0' in metrics


async def test_candle_source_is_provided_to_other_modules(app: ViperApp) -> None:
    frame = seed_store(Path(app.config.store.candles_dir))
    source = app.services.get(CandleSource)
    got = await source.candles("bitget", SYMBOL, "1m", START, START + 60_000 * 5)
    assert got.equals(frame.head(5))


async def test_redis_level_holds_the_original_key(tmp_path: Path, redis_url: str) -> None:
    config = make_config(
        tmp_path,
        modules={"enabled": ["api", "data"]},
        redis={"url": redis_url, "publish_config": False},
    )
    seed_store(Path(config.store.candles_dir))
    client = redis_asyncio.Redis.from_url(redis_url)
    await client.delete(f"market_data:{SYMBOL}:1m")
    viper = ViperApp(config)
    try:
        async with viper.running():
            async with await client_for(viper) as http:
                await http.get(
                    "/data/candles", params={"symbol": SYMBOL, "timeframe": "1m", "limit": 10}
                )
            raw = await client.get(f"market_data:{SYMBOL}:1m")
            assert raw is not None
            assert 0 < await client.ttl(f"market_data:{SYMBOL}:1m") <= 300
    finally:
        await client.delete(f"market_data:{SYMBOL}:1m")
        await client.aclose()


async def wait_job(http: httpx.AsyncClient, job_id: str) -> dict:
    for _ in range(400):
        job = (await http.get(f"/data/sync/{job_id}")).json()
        if job["state"] not in ("queued", "running"):
            return job
        await asyncio.sleep(0.02)
    pytest.fail("sync job did not finish")


async def test_sync_downloads_in_the_background_and_resumes(tmp_path: Path) -> None:
    async with FakeBitget() as fake:
        fake.set_candles(SYMBOL, "1m", make_candles(START, 1_500))
        config = make_config(
            tmp_path, modules={"enabled": ["api", "data"]}, exchange={"api_url": fake.url}
        )
        viper = ViperApp(config)
        async with viper.running(), await client_for(viper) as http:
            accepted = await http.post(
                "/data/sync", json={"symbols": [SYMBOL], "timeframe": "1m", "since": "2024-01-01"}
            )
            assert accepted.status_code == 202
            job = await wait_job(http, accepted.json()["id"])
            assert job["state"] == "done", job
            assert job["symbols"][0]["candles"] == 1_500
            fake.set_candles(SYMBOL, "1m", make_candles(START, 1_600))
            again = await http.post("/data/sync", json={"symbols": [SYMBOL]})
            second = await wait_job(http, again.json()["id"])
            stored = (await http.get("/data/data")).json()["datasets"][0]
            listing = (await http.get("/data/sync")).json()["jobs"]
    assert second["state"] == "done"
    assert second["symbols"][0]["candles"] == 100
    assert stored["rows"] == 1_600
    assert stored["gaps"] == 0
    assert [j["id"] for j in listing] == [second["id"], job["id"]]


async def test_sync_without_since_and_nothing_stored_fails_that_symbol_clearly(
    app: ViperApp,
) -> None:
    async with await client_for(app) as http:
        accepted = await http.post("/data/sync", json={"symbols": ["ETH/USDT:USDT"]})
        job = await wait_job(http, accepted.json()["id"])
    assert job["state"] == "failed"
    assert "give `since`" in job["symbols"][0]["error"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"symbols": []}, 422, "symbols"),
        ({"symbols": [SYMBOL], "timeframe": "2y"}, 422, "timeframe"),
        ({"symbols": [SYMBOL], "since": "soon"}, 422, "since"),
        ({"symbols": [SYMBOL], "since": "2024-02-01", "until": "2024-01-01"}, 422, "until"),
        ({"symbol": SYMBOL}, 422, "symbol"),
    ],
)
async def test_bad_sync_requests_get_clear_errors_and_start_nothing(
    app: ViperApp, body: dict, status: int, field: str
) -> None:
    async with await client_for(app) as http:
        response = await http.post("/data/sync", json=body)
        jobs = (await http.get("/data/sync")).json()["jobs"]
    assert response.status_code == status
    assert response.json()["field"] == field
    assert jobs == []


async def test_unknown_job_is_404(app: ViperApp) -> None:
    async with await client_for(app) as http:
        assert (await http.get("/data/sync/nope")).status_code == 404
        assert (await http.delete("/data/sync/nope")).status_code == 404
