"""Live trades rebuilt from the journal: entries, exits, intrabar times, reasons, flips."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from viper.modules.live.journal import MIGRATIONS as LIVE
from viper.modules.order.schema import MIGRATIONS as ORDERS
from viper.modules.risk.store import MIGRATIONS as RISK
from viper.parity import live_trades, rejections
from viper.parity.journal import market_specs

TF = 60_000
BTC = "BTC/USDT:USDT"


def journal(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    for step in (*ORDERS, *LIVE, *RISK):
        conn.execute(step)
    return conn


def order(conn: sqlite3.Connection, cid: str, intent: str, kind: str = "market") -> None:
    conn.execute(
        "INSERT INTO orders (client_order_id, symbol, side, type, amount, state, intent_id, "
        "created_ms, updated_ms) VALUES (?, ?, 'buy', ?, '1', 'filled', ?, 0, 0)",
        (cid, BTC, kind, intent),
    )


def fill(conn: sqlite3.Connection, cid: str, side: str, amount: str, price: str, ts: int) -> None:
    conn.execute(
        "INSERT INTO fills (fill_id, client_order_id, symbol, side, amount, price, fee, "
        "fee_currency, liquidity, ts_ms) VALUES (?, ?, ?, ?, ?, ?, '0.1', 'USDT', 'taker', ?)",
        (f"f-{cid}-{ts}", cid, BTC, side, amount, price, ts),
    )


def intent(conn: sqlite3.Connection, iid: str, ts: int, purpose: str, reason: str) -> None:
    conn.execute(
        "INSERT INTO live_intents (intent_id, ts_ms, symbol, side, purpose, reason, price, "
        "strategy, created_ms) VALUES (?, ?, ?, 'buy', ?, ?, 100.0, 'viper', 0)",
        (iid, ts, BTC, purpose, reason),
    )


def test_rebuilds_round_trips_with_bar_times_and_reasons(tmp_path: Path) -> None:
    conn = journal(tmp_path / "j.db")
    intent(conn, "e1", 2 * TF, "entry", "signal")
    order(conn, "c1", "e1")
    fill(conn, "c1", "buy", "1", "100", 2 * TF + 5)
    intent(conn, "e1:stop_loss", 2 * TF, "exit", "stop_loss")
    order(conn, "c2", "e1:stop_loss", "stop")
    fill(conn, "c2", "sell", "1", "95", 6 * TF)  # reported at the close of bar 5
    intent(conn, "e2", 8 * TF, "entry", "signal")
    order(conn, "c3", "e2")
    fill(conn, "c3", "sell", "2", "96", 8 * TF)
    order(conn, "c4", "kill-switch:1:BTC")
    fill(conn, "c4", "buy", "2", "97", 9 * TF + 10)
    conn.execute(
        "INSERT INTO risk_rejections (ts_ms, intent_id, symbol, side, purpose, reason) "
        "VALUES (?, 'x', ?, 'buy', 'entry', 'max_exposure')",
        (3 * TF, BTC),
    )
    conn.execute("INSERT INTO live_markets VALUES (?, '0.001', '0.001', '5', '0.1', 0)", (BTC,))
    conn.commit()
    conn.close()

    trades = live_trades(tmp_path / "j.db", [BTC], TF)
    refused = rejections(tmp_path / "j.db", [BTC])
    specs = market_specs(tmp_path / "j.db", [BTC])

    assert [(t.side, t.entry_ms, t.exit_ms, t.exit_reason) for t in trades] == [
        ("long", 2 * TF, 5 * TF, "stop_loss"),  # a stop fills inside bar 5: its open
        ("short", 8 * TF, 9 * TF + 10, "kill_switch"),
    ]
    assert trades[0].entry_price == 100.0 and trades[0].exit_price == 95.0
    assert trades[1].size == 2.0 and abs(trades[1].fees - 0.2) < 1e-12
    assert [(r.ts_ms, r.reason) for r in refused] == [(3 * TF, "max_exposure")]
    assert specs[BTC].amount_step == 0.001 and specs[BTC].min_notional == 5.0


def test_reads_an_empty_journal_of_a_process_that_never_traded(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()

    assert live_trades(tmp_path / "empty.db", [BTC], TF) == []
    assert rejections(tmp_path / "empty.db", [BTC]) == []
