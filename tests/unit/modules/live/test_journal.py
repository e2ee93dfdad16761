"""The live journal keeps managed positions across a restart: written and deleted together."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import msgspec

from viper.modules.live.journal import LiveJournal
from viper.modules.live.levels import Managed
from viper.store.sqlite import Database


def managed(symbol: str, size: str) -> Managed:
    return Managed(symbol=symbol, side=1, intent_id=f"i-{symbol}", size=Decimal(size), stop=90.0)


async def test_positions_are_saved_in_one_transaction_and_read_back_after_a_reopen(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "live.db")
    await db.open()
    journal = LiveJournal(db)
    await journal.migrate()
    await journal.save_positions({"A": managed("A", "1"), "B": managed("B", "2")}, 1)
    await journal.save_positions({"A": None, "B": managed("B", "3"), "C": None}, 2)
    await journal.save_positions({}, 3)  # nothing dirty: nothing written
    await db.close()

    reopened = Database(tmp_path / "live.db")
    await reopened.open()
    saved = await LiveJournal(reopened).positions()
    rows = await reopened.execute("SELECT symbol, updated_ms FROM live_positions")
    await reopened.close()

    assert list(saved) == ["B"]  # levels may be NaN, which equals nothing: compare the bytes
    assert msgspec.msgpack.encode(saved["B"]) == msgspec.msgpack.encode(managed("B", "3"))
    assert rows == [("B", 2)]
