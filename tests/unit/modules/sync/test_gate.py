"""The trading gate fails closed: shut until a reconciliation passes, and after a reconnect."""

from __future__ import annotations

from viper.modules.sync.gate import ReconciliationGate
from viper.protocols import TradingGate


def test_starts_closed_awaiting_reconciliation() -> None:
    gate: TradingGate = ReconciliationGate()
    assert gate.entries_allowed() == (False, "awaiting reconciliation")


def test_a_passing_run_opens_it_and_a_failing_one_shuts_it() -> None:
    gate = ReconciliationGate()
    gate.record_run(True, gate.epoch, "")
    assert gate.entries_allowed() == (True, "")
    gate.record_run(False, gate.epoch, "reconciliation failed: down")
    assert gate.entries_allowed() == (False, "reconciliation failed: down")


def test_a_run_that_began_before_a_disconnect_does_not_open_it() -> None:
    gate = ReconciliationGate()
    epoch = gate.epoch
    gate.close("paper disconnected")
    gate.record_run(True, epoch, "")
    assert gate.entries_allowed() == (False, "paper disconnected")
    gate.record_run(True, gate.epoch, "")
    assert gate.entries_allowed() == (True, "")
