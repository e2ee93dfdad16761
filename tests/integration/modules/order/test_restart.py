"""Restart recovery in the real app: orders left pending, submitted or open are each
accounted for exactly once by new module instances on the same database."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import msgspec

from tests.integration.modules.order.helpers import (
    BTC,
    app_config,
    bar,
    eventually,
    order_request,
    order_state,
    ticker,
)
from viper.app import ViperApp
from viper.config import Config
from viper.modules.order.journal import Journal
from viper.modules.order.records import OrderRecord
from viper.protocols import Exchange, TradingGate


def record(cid: str, order_type: str, price: str | None) -> OrderRecord:
    now = int(time.time() * 1000)
    return OrderRecord(
        client_order_id=cid,
        symbol=BTC,
        side="buy",
        type=order_type,  # type: ignore[arg-type]
        amount=Decimal("0.01"),
        price=Decimal(price) if price else None,
        created_ms=now,
        updated_ms=now,
    )


async def first_run(config: Config) -> None:
    """Two resting limit orders, journaled and open, then a clean stop."""
    app = ViperApp(config)
    async with app.running():
        await app.bus.publish(ticker(app, 50_000.0))
        for cid, price in (("open-1", "30000"), ("fill-later", "49000")):
            await app.bus.publish(order_request(cid, price=price))

            async def is_open(cid: str = cid) -> bool:
                return await order_state(app, cid) == "open"

            await eventually(is_open, what=f"{cid} open")


async def while_down(config: Config) -> None:
    """With the order module down: the exchange fills one order and takes another; the
    journal holds one order never sent, one sent and accepted, one sent and lost."""
    down = ViperApp(_only_exchange(config))
    async with down.running():
        await down.bus.publish(bar(down, low=48_900.0, high=50_000.0))
        exchange = down.services.get(Exchange)

        async def filled() -> bool:
            found = await exchange.fetch_order("fill-later", BTC)
            return found is not None and found.status == "closed"

        await eventually(filled, what="fill-later filled at the exchange")
        journal = Journal(down.store)
        await journal.migrate()
        await journal.insert(record("pending-1", "market", None))
        for cid, kind, price in (("accepted-1", "market", None), ("submitted-1", "limit", "30000")):
            await journal.insert(record(cid, kind, price))
            await journal.transition(cid, "submitted", int(time.time() * 1000), "sending")
        await exchange.create_order(
            client_order_id="accepted-1",
            symbol=BTC,
            side="buy",
            type="market",
            amount=Decimal("0.01"),
        )


def _only_exchange(config: Config) -> Config:
    modules = msgspec.structs.replace(config.modules, enabled=["exchange"])
    return msgspec.structs.replace(config, modules=modules)


async def test_every_order_is_accounted_for_exactly_once_after_a_restart(tmp_path: Path) -> None:
    config = app_config(tmp_path)
    await first_run(config)
    await while_down(config)

    app = ViperApp(config)
    async with app.running():

        async def settled() -> bool:
            rows = await app.store.execute(
                "SELECT COUNT(*) FROM orders WHERE state IN ('pending', 'submitted')"
            )
            return rows[0][0] == 0 and app.services.get(TradingGate).entries_allowed()[0]

        await eventually(settled, what="recovery and a passing reconciliation")
        states = dict(await app.store.execute("SELECT client_order_id, state FROM orders"))
        exchange = app.services.get(Exchange)
        at_exchange = {
            o.client_order_id: o for o in await app.modules["exchange"].paper.all_orders()
        }
        positions = await exchange.fetch_positions()
        journal_size = (
            await app.store.execute("SELECT size FROM positions WHERE symbol = ?", (BTC,))
        )[0][0]
        fills = dict(
            await app.store.execute(
                "SELECT client_order_id, COUNT(*) FROM fills GROUP BY client_order_id"
            )
        )
    assert states == {
        "open-1": "open",
        "fill-later": "filled",
        "pending-1": "filled",
        "accepted-1": "filled",
        "submitted-1": "open",
    }
    assert set(at_exchange) == set(states)
    for cid, state in states.items():
        assert {"open": "open", "filled": "closed"}[state] == at_exchange[cid].status
    assert fills == {"fill-later": 1, "pending-1": 1, "accepted-1": 1}
    assert positions[0].size == Decimal(journal_size) == Decimal("0.03")
