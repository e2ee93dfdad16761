"""The trading gate: new entries stay closed until a reconciliation has passed.

Closed at start, and again when the exchange drops or reconnects, or a run fails or finds a
blocking difference. A run opens it only if nothing closed it while the run was going on.
"""

from __future__ import annotations

AWAITING = "awaiting reconciliation"


class ReconciliationGate:
    """Implements `viper.protocols.TradingGate` for the risk manager."""

    def __init__(self) -> None:
        self._allowed = False
        self._reason = AWAITING
        self._epoch = 0

    @property
    def epoch(self) -> int:
        """Changes every time the gate is closed from outside a run."""
        return self._epoch

    def entries_allowed(self) -> tuple[bool, str]:
        """`(True, "")` once reconciled, else `(False, why)`."""
        return self._allowed, "" if self._allowed else self._reason

    def close(self, reason: str) -> None:
        """Shut the gate (an exchange disconnect or reconnect, say) until a run passes."""
        self._allowed = False
        self._reason = reason
        self._epoch += 1

    def record_run(self, ok: bool, epoch: int, reason: str) -> None:
        """Open after a passing run begun at `epoch`; shut with `reason` after a failing one."""
        if not ok:
            self._allowed = False
            self._reason = reason
        elif epoch == self._epoch:
            self._allowed = True
            self._reason = ""
