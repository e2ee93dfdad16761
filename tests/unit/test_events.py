"""Event ids: 32 hex digits, this process's prefix then a counter, never repeated."""

from __future__ import annotations

import re

from viper import events
from viper.events import Ticker, new_event_id


def test_ids_are_the_process_prefix_then_a_counter_in_32_hex_digits() -> None:
    first, second = new_event_id(), new_event_id()
    assert re.fullmatch(r"[0-9a-f]{32}", first) and re.fullmatch(r"[0-9a-f]{32}", second)
    assert first[:16] == second[:16] == events._ID_PREFIX
    assert int(second[16:], 16) == int(first[16:], 16) + 1
    many = {Ticker(ts_ms=1, exchange="paper", symbol="X", last=1.0).id for _ in range(10_000)}
    assert len(many) == 10_000
