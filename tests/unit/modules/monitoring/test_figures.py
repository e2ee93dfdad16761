"""Risk score, job counts, request rate and exchange latency: the figures monitoring derives."""

from __future__ import annotations

from decimal import Decimal

from viper.clock import TestClock
from viper.domain import ExchangeOrder
from viper.modules.base import Health
from viper.modules.monitoring.exchange import ORDER_ACK, ExchangeStats
from viper.modules.monitoring.figures import RateWindow, job_counts, risk_score
from viper.protocols import LimitUse, RiskStatus
from viper.runner import ModuleStatus


def status(halted: bool = False, **fractions: float) -> RiskStatus:
    return RiskStatus(
        equity=1000,
        peak_equity=1000,
        day_start_equity=1000,
        daily_pnl=0,
        drawdown=0,
        exposure=0,
        open_positions=0,
        pending_entries=0,
        limits={k: LimitUse(limit=1, used=v, fraction=v) for k, v in fractions.items()},
        halted=halted,
    )


def test_risk_score_is_the_most_used_limit_in_percent_capped_at_100() -> None:
    assert risk_score(status()) == 0.0
    assert risk_score(status(max_open_positions=0.4, max_drawdown=0.25)) == 40.0
    assert risk_score(status(daily_loss_limit=1.7)) == 100.0


def test_risk_score_is_100_while_the_kill_switch_holds() -> None:
    assert risk_score(status(halted=True, max_drawdown=0.1)) == 100.0


def test_job_counts_come_from_the_health_of_the_modules_that_run_jobs() -> None:
    statuses = [
        ModuleStatus(
            name="backtester",
            enabled=True,
            state="running",
            health=Health(checks={"workers": 2, "queued": 1, "running": 2}),
        ),
        ModuleStatus(name="optimizer", enabled=True, state="running", health=Health()),
        ModuleStatus(
            name="risk", enabled=True, state="running", health=Health(checks={"queued": 9})
        ),
    ]
    assert job_counts(statuses) == {"backtest": {"queued": 1, "running": 2}}


def test_request_rate_is_over_the_last_minute_and_since_start_at_first() -> None:
    window = RateWindow(origin=0.0, window=60.0)
    assert window.rate(10.0, 50) == 5.0  # since start
    assert window.rate(20.0, 150) == 10.0  # since the first reading (t=10)
    assert window.rate(80.0, 170) == 0.3333  # the base moves: t=20 is within 60 s
    assert window.rate(200.0, 170) == 0.0


def test_order_latency_is_from_request_to_first_report_and_rejections_count() -> None:
    clock = TestClock()
    seen: list[tuple[str, str, float]] = []
    stats = ExchangeStats(clock, lambda ex, action, s: seen.append((ex, action, s)))
    stats.on_request("vpr1")
    clock.advance(0.25)
    report = ExchangeOrder(
        client_order_id="vpr1",
        symbol="BTC/USDT:USDT",
        side="buy",
        type="market",
        amount=Decimal(1),
        status="rejected",
    )
    stats.on_report("paper", report)
    stats.on_report("paper", report)  # a second report is not a new latency
    assert seen == [("paper", ORDER_ACK, 0.25)]
    assert stats.errors[("paper", "order_rejected")] == 2
    stats.on_connection("bitget", False)
    stats.on_connection("bitget", False)
    stats.on_connection("bitget", True)
    assert stats.errors[("bitget", "disconnected")] == 1
    assert stats.connected == {"bitget": True}
    stats.observe_call("bitget", "fetch_balance", 0.1, "ExchangeTimeoutError")
    assert seen[-1] == ("bitget", "fetch_balance", 0.1)
    assert stats.errors[("bitget", "ExchangeTimeoutError")] == 1
