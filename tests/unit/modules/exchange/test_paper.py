"""The paper exchange over SQLite: every step committed, a restart resumes exactly, and a run
split by a restart ends where an uninterrupted one does, with the same reports."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

import viper.store.sqlite as sqlite_store
from tests.unit.modules.exchange.stubs import BTC, ETH, HOUR, MINUTE, T0, D
from viper.domain import Candle, ExchangeOrder, Fill
from viper.errors import InsufficientFundsError
from viper.modules.exchange.paper import PaperExchange
from viper.modules.exchange.state import PaperSettings
from viper.store.sqlite import Database

SETTINGS = PaperSettings(balance=Decimal(10_000))
Reports = list[tuple[int, ExchangeOrder, Fill | None]]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "paper.db")
    await database.open()
    yield database
    await database.close()


def candle(ts: int, low: float, volume: float = 4.0) -> Candle:
    return Candle(ts_ms=ts - MINUTE, open=60000, high=60100, low=low, close=59900, volume=volume)


async def first_half(paper: PaperExchange) -> None:
    await paper.on_ticker(BTC, 60000.0, 59999.9, 60000.1, T0)
    await paper.on_ticker(ETH, 3000.0, None, None, T0)
    await paper.set_leverage(BTC, 20)
    await paper.create_order(
        client_order_id="long", symbol=BTC, side="buy", type="market", amount=D("0.100")
    )
    await paper.create_order(
        client_order_id="bid",
        symbol=BTC,
        side="buy",
        type="limit",
        amount=D("1.000"),
        price=D("59000"),
    )
    await paper.create_order(
        client_order_id="short", symbol=ETH, side="sell", type="market", amount=D("1.00")
    )
    await paper.on_candle(BTC, "1m", candle(T0 + MINUTE, low=58900), T0 + MINUTE)


async def second_half(paper: PaperExchange) -> None:
    await paper.on_ticker(BTC, 59950.0, None, None, T0 + 8 * HOUR + MINUTE)  # funding at 08:00
    await paper.on_candle(
        BTC, "1m", candle(T0 + 8 * HOUR + 2 * MINUTE, 58800), T0 + 8 * HOUR + 2 * MINUTE
    )
    await paper.cancel_order("bid", BTC)


async def state_of(paper: PaperExchange) -> dict[str, Any]:
    return msgspec.to_builtins(
        {
            "balance": await paper.fetch_balance(),
            "positions": await paper.fetch_positions(),
            "orders": await paper.all_orders(),
            "open": await paper.fetch_open_orders(),
            "fills": await paper.fills(),
            "funding": await paper.funding(),
            "markets": await paper.markets(),
            "account": paper.engine.account,
            "symbols": sorted(paper.engine.symbols.items()),
        }
    )


def recorder(reports: Reports) -> Any:
    def report(ts: int, order: ExchangeOrder, fill: Fill | None) -> None:
        reports.append((ts, order, fill))

    return report


async def test_reopening_the_database_restores_identical_state(tmp_path: Path) -> None:
    path = tmp_path / "paper.db"
    db = Database(path)
    await db.open()
    paper = await PaperExchange.open(db, SETTINGS)
    await first_half(paper)
    before = await state_of(paper)
    await db.close()

    db = Database(path)
    await db.open()
    reopened = await PaperExchange.open(db, PaperSettings(balance=Decimal(1)))  # stored wins
    after = await state_of(reopened)
    await db.close()

    assert after == before
    assert before["fills"] and before["open"] and len(before["positions"]) == 2


async def test_a_restart_mid_run_ends_where_an_uninterrupted_run_does(tmp_path: Path) -> None:
    straight_reports: Reports = []
    straight_db = Database(tmp_path / "straight.db")
    await straight_db.open()
    straight = await PaperExchange.open(straight_db, SETTINGS, recorder(straight_reports))
    await first_half(straight)
    await second_half(straight)
    expected = await state_of(straight)
    await straight_db.close()

    split_reports: Reports = []
    for half in (first_half, second_half):
        db = Database(tmp_path / "split.db")
        await db.open()
        split = await PaperExchange.open(db, SETTINGS, recorder(split_reports))
        await half(split)
        got = await state_of(split)
        await db.close()

    assert got == expected
    assert expected["funding"] and expected["orders"][1]["status"] == "canceled"
    assert msgspec.to_builtins(split_reports) == msgspec.to_builtins(straight_reports)


async def test_reports_are_made_after_the_commit_in_market_time(db: Database) -> None:
    reports: Reports = []
    seen: list[int] = []
    reader = sqlite3.connect(db.path)  # another connection sees only what is committed

    def report(ts: int, order: ExchangeOrder, fill: Fill | None) -> None:
        rows = reader.execute(
            "SELECT status FROM paper_orders WHERE client_order_id = ?", (order.client_order_id,)
        ).fetchall()
        seen.append(len(rows))
        reports.append((ts, order, fill))

    paper = await PaperExchange.open(db, SETTINGS, report)
    await paper.on_ticker(BTC, 60000.0, None, None, T0 + 5 * MINUTE)
    await paper.create_order(
        client_order_id="m", symbol=BTC, side="buy", type="market", amount=D("0.010")
    )
    reader.close()

    assert seen == [1]  # filled on arrival: one report, made once the order is stored
    assert [ts for ts, _, _ in reports] == [T0 + 5 * MINUTE]
    assert reports[-1][2] is not None and reports[-1][2].ts_ms == T0 + 5 * MINUTE


async def test_steps_made_back_to_back_share_commits_and_report_in_order(db: Database) -> None:
    reports: Reports = []
    paper = await PaperExchange.open(db, SETTINGS, recorder(reports))
    await paper.on_ticker(BTC, 60000.0, None, None, T0)
    commits = 0
    commit_batch = sqlite_store._commit_batch

    def counting(conn: sqlite3.Connection, batch: list[Any]) -> None:
        nonlocal commits
        commits += 1
        commit_batch(conn, batch)

    sqlite_store._commit_batch = counting  # type: ignore[assignment]
    try:
        placed = await asyncio.gather(
            *(
                paper.create_order(
                    client_order_id=f"o{n}",
                    symbol=BTC,
                    side="buy",
                    type="market",
                    amount=D("0.001"),
                )
                for n in range(20)
            )
        )
    finally:
        sqlite_store._commit_batch = commit_batch  # type: ignore[assignment]

    assert [o.client_order_id for o in placed] == [f"o{n}" for n in range(20)]
    assert all(o.status == "closed" for o in placed)  # each as its own step left it
    assert [order.client_order_id for _, order, _ in reports] == [f"o{n}" for n in range(20)]
    assert commits < 20  # steps queued while a commit was on disk shared the next one
    rows = await db.execute("SELECT count(*) FROM paper_fills")
    assert rows[0][0] == 20


async def test_a_refused_order_leaves_no_trace(db: Database) -> None:
    paper = await PaperExchange.open(db, SETTINGS)
    await paper.on_ticker(BTC, 60000.0, None, None, T0)

    with pytest.raises(InsufficientFundsError):
        await paper.create_order(
            client_order_id="big", symbol=BTC, side="buy", type="market", amount=D("5")
        )

    assert await paper.fetch_order("big", BTC) is None
    assert await db.execute("SELECT * FROM paper_orders") == []


async def test_replaying_the_same_events_gives_the_same_reports(tmp_path: Path) -> None:
    runs: list[Reports] = []
    for name in ("a", "b"):
        reports: Reports = []
        db = Database(tmp_path / f"{name}.db")
        await db.open()
        paper = await PaperExchange.open(db, SETTINGS, recorder(reports))
        await first_half(paper)
        await second_half(paper)
        await db.close()
        runs.append(reports)

    assert msgspec.to_builtins(runs[0]) == msgspec.to_builtins(runs[1])
    assert len(runs[0]) > 5


async def test_a_failing_report_hook_reaches_the_caller_and_the_step_stays_stored(
    db: Database,
) -> None:
    def broken(ts: int, order: ExchangeOrder, fill: Fill | None) -> None:
        raise RuntimeError("hook broke")

    paper = await PaperExchange.open(db, SETTINGS, broken)
    await paper.on_ticker(BTC, 60000.0, None, None, T0)

    with pytest.raises(RuntimeError, match="hook broke"):
        async with asyncio.timeout(5):  # answered, never left waiting
            await paper.create_order(
                client_order_id="m", symbol=BTC, side="buy", type="market", amount=D("0.010")
            )
    rows = await db.execute("SELECT status FROM paper_orders WHERE client_order_id = 'm'")
    assert rows == [("closed",)]
