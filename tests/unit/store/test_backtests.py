"""The stored backtest results: one row each, newest first, filtered, the blob round-trips."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from viper.errors import NotFoundError
from viper.store.backtests import BacktestResults, BacktestSummary, compress
from viper.store.sqlite import Database


def summary(
    backtest_id: str, created_ms: int, strategy: str, symbols: list[str]
) -> BacktestSummary:
    return BacktestSummary(
        id=backtest_id,
        created_ms=created_ms,
        source="api",
        strategy=strategy,
        params={"fast": 10},
        symbols=symbols,
        exchange="bitget",
        timeframe="1m",
        start_ms=0,
        end_ms=60_000,
        period_start="1970-01-01T00:00:00Z",
        period_end="1970-01-01T00:01:00Z",
        initial_capital=1_000.0,
        final_capital=1_100.0,
        total_return=0.1,
        win_rate=0.5,
        max_drawdown=0.02,
        total_trades=4,
        sharpe_ratio=None,
        sortino_ratio=1.5,
        profit_factor=None,
        cagr=None,
        calmar=None,
        exposure=0.4,
        total_fees=1.0,
        total_funding=-0.5,
        liquidations=0,
        bars=1,
        settings={"sizing": "risk", "risk": {"max_leverage": 10}},
        config_id="c0ffee",
        result_hash="abc",
        duration_seconds=0.25,
    )


@pytest.fixture
async def results(tmp_path: Path) -> AsyncIterator[BacktestResults]:
    db = Database(tmp_path / "viper.db")
    await db.open()
    store = BacktestResults(db)
    await store.migrate()
    await store.migrate()  # idempotent
    yield store
    await db.close()


async def test_saved_summary_and_blob_read_back_unchanged(results: BacktestResults) -> None:
    row = summary("a", 1, "viper", ["BTC/USDT:USDT"])
    body = msgspec.json.encode({"trades": [1, 2, 3]})
    await results.save(row, compress(body))
    assert await results.summary("a") == row
    assert await results.result_json("a") == body
    assert await results.exists("a")


async def test_pages_newest_first_with_filters(results: BacktestResults) -> None:
    await results.save(summary("a", 1, "viper", ["BTC/USDT:USDT"]), compress(b"{}"))
    await results.save(
        summary("b", 2, "sma_cross", ["BTC/USDT:USDT", "ETH/USDT:USDT"]), compress(b"{}")
    )
    await results.save(summary("c", 3, "viper", ["ETH/USDT:USDT"]), compress(b"{}"))
    everything = await results.page(10, 0)
    assert [r.id for r in everything.results] == ["c", "b", "a"]
    assert everything.total == 3
    second = await results.page(1, 1)
    assert [r.id for r in second.results] == ["b"] and second.total == 3
    eth = await results.page(10, 0, symbol="ETH/USDT:USDT")
    assert [r.id for r in eth.results] == ["c", "b"]
    both = await results.page(10, 0, strategy="viper", symbol="ETH/USDT:USDT")
    assert [r.id for r in both.results] == ["c"] and both.total == 1
    assert (await results.page(10, 0, symbol="ETH/USDT")).total == 0


async def test_unknown_ids_are_not_found(results: BacktestResults) -> None:
    with pytest.raises(NotFoundError):
        await results.summary("nope")
    with pytest.raises(NotFoundError):
        await results.result_json("nope")
    assert not await results.exists("nope")
