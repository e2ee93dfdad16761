"""Other processes seen through their heartbeats: recorded, aged, forgotten."""

from __future__ import annotations

from viper.clock import TestClock
from viper.events import NodeStatus
from viper.modules.api.nodes import NodeTable


def beat(node: str, ts_ms: int = 1, interval: float = 5.0) -> NodeStatus:
    return NodeStatus(
        ts_ms=ts_ms, node=node, modules={"risk": "running"}, interval_seconds=interval
    )


def test_records_other_nodes_and_ignores_its_own(clock: TestClock) -> None:
    table = NodeTable("me:1", clock)
    table.record(beat("me:1"))
    table.record(beat("other:2"))
    views = table.views()
    assert [v.node for v in views] == ["other:2"]
    assert views[0].modules == {"risk": "running"}


def test_forgets_a_node_after_three_missed_heartbeats(clock: TestClock) -> None:
    table = NodeTable("me:1", clock)
    table.record(beat("other:2", interval=5.0))
    clock.advance(14.9)
    assert len(table.views()) == 1
    assert table.views()[0].age_seconds == 14.9
    clock.advance(0.2)
    assert table.views() == []


def test_a_new_heartbeat_refreshes_the_node(clock: TestClock) -> None:
    table = NodeTable("me:1", clock)
    table.record(beat("other:2"))
    clock.advance(14)
    table.record(beat("other:2", ts_ms=2))
    clock.advance(14)
    assert table.views()[0].last_seen_ms == 2
