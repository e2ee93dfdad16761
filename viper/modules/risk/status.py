"""The risk status: exposure, daily PnL, drawdown, and how much of each limit is used."""

from __future__ import annotations

from viper.config import RiskConfig
from viper.modules.risk.gate import ZERO, Account, GateState
from viper.modules.risk.store import DayState, KillSwitch
from viper.protocols import LimitUse, RiskStatus


def _use(limit: float, used: float) -> LimitUse:
    return LimitUse(
        limit=limit, used=round(used, 6), fraction=round(used / limit, 6) if limit > 0 else 0.0
    )


def build_status(
    *,
    limits: RiskConfig,
    account: Account,
    peak: float,
    day: DayState,
    kill: KillSwitch,
    gate: GateState,
    updated_ms: int,
) -> RiskStatus:
    """The status of the account against `limits`."""
    equity = account.equity
    exposure = float(account.exposure())
    largest = max(
        (float(h.notional) for h in account.holdings.values() if h.size != ZERO), default=0.0
    )
    drawdown = max(0.0, 1.0 - equity / peak) if peak > 0 else 0.0
    daily_pnl = equity - day.start_equity if day.start_equity > 0 else 0.0
    daily_loss = max(0.0, -daily_pnl) / day.start_equity if day.start_equity > 0 else 0.0
    multiple = exposure / equity if equity > 0 else 0.0
    return RiskStatus(
        equity=equity,
        peak_equity=peak,
        day_start_equity=day.start_equity,
        daily_pnl=round(daily_pnl, 8),
        drawdown=round(drawdown, 6),
        exposure=round(exposure, 8),
        open_positions=account.open_count(),
        pending_entries=len(account.pending),
        limits={
            "max_open_positions": _use(limits.max_open_positions, account.open_count()),
            "max_total_exposure": _use(limits.max_total_exposure, multiple),
            "max_leverage": _use(limits.max_leverage, multiple),
            "max_notional_per_symbol": _use(limits.max_notional_per_symbol, largest),
            "daily_loss_limit": _use(limits.daily_loss_limit, daily_loss),
            "max_drawdown": _use(limits.max_drawdown, drawdown),
        },
        halted=kill.halted,
        halt_reason=kill.reason,
        halted_since_ms=kill.since_ms,
        daily_blocked=day.blocked,
        entries_allowed=gate.entries_allowed and not kill.halted and not day.blocked,
        gate_reason=gate.gate_reason,
        updated_ms=updated_ms,
    )
