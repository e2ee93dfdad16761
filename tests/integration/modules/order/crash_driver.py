"""A VIPER process for the crash test: trades on the paper exchange until killed, or, run
again on the same data dir, waits for recovery and prints what journal and exchange hold.

    python -m tests.integration.modules.order.crash_driver trade|check DATA_DIR
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.integration.modules.order.helpers import app_config, bar, order_request, ticker
from viper.app import ViperApp
from viper.modules.order.upkeep import Upkeep
from viper.protocols import Exchange, TradingGate

BURST = 8


async def trade(app: ViperApp) -> None:
    """Market and limit orders in bursts, with moving prices and bars, until killed."""
    rng = random.Random(7)
    price, sent = 50_000.0, 0
    while True:
        price *= 1 + rng.uniform(-0.0005, 0.0005)
        await app.bus.publish(ticker(app, price))
        for _ in range(BURST):
            sent += 1
            side = "buy" if sent % 2 else "sell"
            if sent % 4 == 0:
                limit = round(price * (0.999 if side == "buy" else 1.001), 1)
                request = order_request(
                    f"crash-{sent}", side=side, price=str(limit), amount="0.002"
                )
            else:
                request = order_request(
                    f"crash-{sent}", side=side, order_type="market", price=None, amount="0.001"
                )
            await app.bus.publish(request)
        if sent % (BURST * 4) == 0:
            await app.bus.publish(bar(app, low=price * 0.998, high=price * 1.002))
        print(f"sent {sent}", flush=True)
        await asyncio.sleep(0.01)


async def recovered(app: ViperApp) -> bool:
    rows = await app.store.execute(
        "SELECT COUNT(*) FROM orders WHERE state IN ('pending', 'submitted')"
    )
    upkeep = app.modules["order"].upkeep  # type: ignore[attr-defined]
    gate = app.services.get(TradingGate)
    return (
        rows[0][0] == 0
        and isinstance(upkeep, Upkeep)
        and upkeep.recovered
        and gate.entries_allowed()[0]
    )


async def summary(app: ViperApp) -> dict[str, Any]:
    """Journal orders, fills and positions beside the exchange's orders and positions."""
    orders = await app.store.execute("SELECT client_order_id, state, filled FROM orders")
    fills = await app.store.execute("SELECT client_order_id, amount FROM fills")
    recorded: dict[str, Decimal] = {}
    for cid, amount in fills:
        recorded[cid] = recorded.get(cid, Decimal(0)) + Decimal(amount)
    positions = await app.store.execute("SELECT symbol, size FROM positions")
    paper = app.modules["exchange"].paper  # type: ignore[attr-defined]
    at_exchange = await paper.all_orders()
    exchange_positions = await app.services.get(Exchange).fetch_positions()
    return {
        "journal": {cid: [state, filled] for cid, state, filled in orders},
        "fills": {cid: str(total) for cid, total in recorded.items()},
        "fill_rows": len(fills),
        "journal_positions": {s: size for s, size in positions if Decimal(size) != 0},
        "exchange": {o.client_order_id: [o.status, str(o.filled)] for o in at_exchange},
        "exchange_positions": {
            p.symbol: str(p.size if p.direction == "long" else -p.size) for p in exchange_positions
        },
    }


async def main(mode: str, data_dir: Path) -> None:
    app = ViperApp(app_config(data_dir))
    async with app.running():
        if mode == "trade":
            await trade(app)
            return
        deadline = time.monotonic() + 60
        while not await recovered(app):
            if time.monotonic() > deadline:
                print(json.dumps({"error": "not recovered"}), flush=True)
                return
            await asyncio.sleep(0.05)
        print(json.dumps(await summary(app)), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
