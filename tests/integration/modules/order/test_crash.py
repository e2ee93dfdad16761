"""A real crash: the process is killed with SIGKILL while orders are in flight, then started
again on the same data dir; every order is accounted for exactly once and positions match."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import REPO

DRIVER = "tests.integration.modules.order.crash_driver"
TERMINAL_AT_EXCHANGE = {"filled": "closed", "cancelled": "canceled", "expired": "expired"}


def driver(mode: str, data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", DRIVER, mode, str(data_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def journaled(db: Path) -> tuple[int, int]:
    """Orders journaled, and how many of them are pending or submitted right now."""
    if not db.exists():
        return 0, 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        try:
            rows = conn.execute(
                "SELECT COUNT(*), SUM(state IN ('pending', 'submitted')) FROM orders"
            ).fetchone()
        except sqlite3.OperationalError:  # tables not created yet
            return 0, 0
    return rows[0], rows[1] or 0


def kill_when_busy(proc: subprocess.Popen[str], db: Path, orders: int) -> None:
    deadline = time.monotonic() + 60
    while (busy := journaled(db))[0] < orders or busy[1] == 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the trading process did not journal {orders} orders")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.mark.slow
def test_orders_survive_a_kill_9_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "viper.db"
    trading = driver("trade", tmp_path)
    try:
        kill_when_busy(trading, db, orders=150)
    finally:
        if trading.poll() is None:
            trading.kill()
    assert trading.returncode == -signal.SIGKILL
    total, in_flight = journaled(db)
    assert in_flight > 0  # the kill caught orders between journal and exchange

    checking = driver("check", tmp_path)
    output, _ = checking.communicate(timeout=90)
    state = json.loads(output.strip().splitlines()[-1])
    assert "error" not in state, state

    journal, exchange = state["journal"], state["exchange"]
    assert len(journal) >= total
    # nothing reached the exchange that the journal does not hold
    assert set(exchange) <= set(journal)
    for cid, (journal_state, filled) in journal.items():
        assert journal_state not in ("pending", "submitted"), cid
        if journal_state == "rejected":
            assert cid not in exchange or exchange[cid][0] == "rejected", cid
            continue
        status, exchange_filled = exchange[cid]
        expected = TERMINAL_AT_EXCHANGE.get(journal_state, "open")
        assert status == expected, (cid, journal_state, status)
        assert Decimal(filled) == Decimal(exchange_filled), cid
        assert Decimal(state["fills"].get(cid, "0")) == Decimal(filled), cid
    assert state["journal_positions"].keys() == state["exchange_positions"].keys()
    for symbol, size in state["exchange_positions"].items():
        assert Decimal(state["journal_positions"][symbol]) == Decimal(size), symbol
