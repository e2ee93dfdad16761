"""The risk manager: intents in, sized orders or refusals out; day, peak and kill switch kept.

It knows nothing of the bus or HTTP: every method returns the events to publish, and the module
publishes them. The gate (`gate.py`) decides; this class feeds it the account, the limits and
the switches, journals refusals, and runs the equity rules of `viper.risk_rules` (daily loss,
drawdown kill switch) after each account refresh.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import msgspec
from loguru import logger

from viper.backtest.fees import FeeModel
from viper.clock import Clock
from viper.config import RiskConfig
from viper.domain import Position
from viper.errors import ViperError
from viper.events import (
    AlertRaised,
    BaseEvent,
    ConfigChanged,
    KillSwitchChanged,
    OrderRequest,
    TradeIntent,
    TradeRejected,
)
from viper.modules.risk.account import AccountBook
from viper.modules.risk.gate import (
    NO_POSITION,
    ZERO,
    Approval,
    GateState,
    Refusal,
    check_entry,
    check_exit,
)
from viper.modules.risk.ids import client_order_id
from viper.modules.risk.limits import apply_changes
from viper.modules.risk.status import build_status
from viper.modules.risk.store import DayState, KillSwitch, RiskState, RiskStore
from viper.protocols import Exchange, RiskStatus, TradingGate
from viper.risk_rules import RiskRules

DAY_MS = 86_400_000
EXCHANGE_UNAVAILABLE = "exchange_unavailable"


class RiskManager:
    """Pre-trade gate, equity rules and kill switch over a cached account."""

    def __init__(
        self,
        *,
        limits: RiskConfig,
        state: RiskState,
        store: RiskStore,
        clock: Clock,
        exchange: Callable[[], Exchange | None],
        trading_gate: Callable[[], TradingGate | None] = lambda: None,
        slippage: float | None = None,
    ) -> None:
        self.limits = limits
        self.kill = state.kill_switch
        self.day = state.day
        self.peak = state.peak_equity
        self.account = AccountBook()
        self.approved = 0
        self.refused: Counter[str] = Counter()
        self._store = store
        self._clock = clock
        self._exchange = exchange
        self._trading_gate = trading_gate
        self._slippage = slippage
        self._flattening: dict[str, Decimal] = {}
        self.market_ms = 0  # the latest market time seen (intents, ticks)
        self._refreshed_ms = -1  # market time of the last account refresh
        self._stale = False  # a fill or position change since the last refresh

    def account_changed(self) -> None:
        """A fill or a position change: the next intent reads the account afresh."""
        self._stale = True

    def note_market_time(self, ts_ms: int) -> None:
        """Market time moves the UTC day, so a replay rolls days as the backtester does."""
        self.market_ms = max(self.market_ms, ts_ms)

    def _today(self) -> int:
        return (self.market_ms or self._clock.now_ms()) // DAY_MS

    # --- intents ------------------------------------------------------------------------

    def gate_state(self) -> GateState:
        """The switches as they stand now."""
        gate = self._trading_gate()
        allowed, why = gate.entries_allowed() if gate is not None else (True, "")
        return GateState(
            halted=self.kill.halted,
            daily_blocked=self.day.blocked,
            entries_allowed=allowed,
            gate_reason=why,
        )

    async def decide(
        self, intent: TradeIntent, *, amount: Decimal | None = None, leverage: int | None = None
    ) -> Approval | Refusal:
        """The gate's answer for `intent` on the current account."""
        exchange = self._exchange()
        if exchange is None:
            return Refusal(reason=EXCHANGE_UNAVAILABLE, detail="no exchange is connected")
        if not self.account.loaded:
            await self.refresh()
        self.account.mark(intent.symbol, intent.price)
        self.note_market_time(intent.ts_ms)
        await self._roll_day()
        account = self.account.snapshot()
        if intent.purpose == "exit":
            outcome = check_exit(intent, account)
            if isinstance(outcome, Refusal) and outcome.reason == NO_POSITION:
                # A fill the journal has not reported yet: ask the exchange before refusing.
                await self.account.refresh(exchange, self._clock.now_ms())
                outcome = check_exit(intent, self.account.snapshot())
            return outcome
        markets = await self.account.markets(exchange, intent.symbol)
        slippage = self._slippage
        if slippage is None:  # size for the venue's fills: the paper exchange has no slippage
            slippage = 0.0 if exchange.id == "paper" else FeeModel().slippage
        return check_entry(
            intent,
            self.limits,
            account,
            markets.get(intent.symbol),
            self.gate_state(),
            amount=amount,
            leverage=leverage,
            slippage=slippage,
        )

    async def catch_up(self, ts_ms: int) -> list[BaseEvent]:
        """Refresh the account once per new market instant, as the backtester marks equity at
        each bar's close before the next open's entries; returns what the equity rules say."""
        self.note_market_time(ts_ms)
        if self._exchange() is None or (ts_ms <= self._refreshed_ms and not self._stale):
            return []
        return await self.refresh(positions=not self.account.loaded)

    async def evaluate(
        self, intent: TradeIntent, *, amount: Decimal | None = None, leverage: int | None = None
    ) -> tuple[list[BaseEvent], Approval | Refusal]:
        """What the equity rules say first, and the gate's answer; an exchange that fails
        leaves the last account view (or, with none, refuses: fail closed)."""
        try:
            events = await self.catch_up(intent.ts_ms)
        except ViperError as exc:
            events = []
            logger.warning("risk: account refresh failed, deciding on the last view: {}", exc)
        try:
            outcome = await self.decide(intent, amount=amount, leverage=leverage)
        except ViperError as exc:
            outcome = Refusal(reason=EXCHANGE_UNAVAILABLE, detail=exc.detail)
        return events, outcome

    async def handle(
        self, intent: TradeIntent, *, amount: Decimal | None = None, leverage: int | None = None
    ) -> list[BaseEvent]:
        """The events that answer `intent`: its OrderRequest, or a TradeRejected (after any
        the equity rules raise first)."""
        events, outcome = await self.evaluate(intent, amount=amount, leverage=leverage)
        if isinstance(outcome, Approval):
            return [*events, self.approve(intent, outcome)]
        return [*events, await self.refuse(intent, outcome)]

    def approve(self, intent: TradeIntent, approval: Approval) -> OrderRequest:
        """The OrderRequest of an approved intent; an entry counts as pending until it settles."""
        coid = client_order_id(intent.intent_id, intent.purpose)
        if not approval.reduce_only:
            self.account.add_pending(coid, intent.symbol, approval.notional)
        self.approved += 1
        return OrderRequest(
            ts_ms=intent.ts_ms,
            client_order_id=coid,
            symbol=intent.symbol,
            side=approval.side,
            order_type="market",
            amount=approval.amount,
            reduce_only=approval.reduce_only,
            intent_id=intent.intent_id,
        )

    async def refuse(self, intent: TradeIntent, refusal: Refusal) -> TradeRejected:
        """Journal a refusal and say so."""
        self.refused[refusal.reason] += 1
        now = self._clock.now_ms()
        await self._store.reject(
            ts_ms=intent.ts_ms or now,
            intent_id=intent.intent_id,
            symbol=intent.symbol,
            side=intent.side,
            purpose=intent.purpose,
            reason=refusal.reason,
            detail=refusal.detail,
        )
        return TradeRejected(
            ts_ms=now,
            intent_id=intent.intent_id,
            symbol=intent.symbol,
            reason=refusal.reason,
            detail=refusal.detail,
        )

    def settled(self, client_order_id: str) -> bool:
        """An order reached a final state: its pending entry (if any) stops counting."""
        return self.account.settle(client_order_id)

    def position_changed(self, position: Position) -> None:
        """The journal's position changed: hold it, and read the equity afresh next time."""
        self.account.apply_position(position)
        self._stale = True

    # --- equity rules -------------------------------------------------------------------

    async def refresh(self, positions: bool = True) -> list[BaseEvent]:
        """Re-read the account (the balance, and the positions unless told not to) from the
        exchange, then apply the equity rules."""
        exchange = self._exchange()
        if exchange is None:
            return []
        self._stale = False
        await self.account.refresh(exchange, self._clock.now_ms(), positions)
        self._refreshed_ms = self.market_ms
        return await self.check_equity()

    async def check_equity(self) -> list[BaseEvent]:
        """Day roll, peak, daily loss limit and drawdown kill switch on the current equity."""
        if not self.account.loaded:
            return []
        now, equity = self._clock.now_ms(), self.account.equity
        rules = RiskRules(config=self.limits)
        events: list[BaseEvent] = []
        await self._roll_day()
        if equity > self.peak:
            self.peak = equity
            await self._store.save("peak_equity", self.peak, now)
        if not self.day.blocked and rules.daily_loss_hit(
            day_start_equity=self.day.start_equity, equity=equity
        ):
            self.day = msgspec.structs.replace(self.day, blocked=True)
            await self._store.save("day", self.day, now)
            events.append(self._alert("daily_loss_limit", "warning", self._daily_message()))
        if not self.kill.halted and rules.kill_switch_hit(equity=equity, peak_equity=self.peak):
            drawdown = 1 - equity / self.peak if self.peak > 0 else 1.0
            events += await self.trip(f"max drawdown reached ({drawdown:.2%})", "risk")
        elif self.kill.halted:
            events += self._flatten_orders()
        return events

    async def _roll_day(self) -> None:
        """A new UTC day: its starting equity is the current one, and the daily block lifts."""
        today = self._today()
        if today != self.day.day and self.account.loaded:
            self.day = DayState(day=today, start_equity=self.account.equity)
            await self._store.save("day", self.day, self._clock.now_ms())

    def _daily_message(self) -> str:
        loss = self.day.start_equity - self.account.equity
        return (
            f"daily loss {loss:.2f} reached {self.limits.daily_loss_limit:.1%} of the day's "
            f"starting equity {self.day.start_equity:.2f}: no new entries until 00:00 UTC"
        )

    def _alert(self, rule: str, severity: Any, message: str) -> AlertRaised:
        return AlertRaised(
            ts_ms=self._clock.now_ms(), rule=rule, severity=severity, message=message, source="risk"
        )

    # --- kill switch --------------------------------------------------------------------

    async def trip(self, reason: str, actor: str) -> list[BaseEvent]:
        """Halt (persisted) and flatten every position with reduce-only market orders."""
        now = self._clock.now_ms()
        if self.kill.halted:
            return self._flatten_orders()
        old, self.kill = (
            self.kill,
            KillSwitch(halted=True, reason=reason, since_ms=now, actor=actor),
        )
        self._flattening.clear()
        await self._store.save("kill_switch", self.kill, now)
        await self._store.audit(
            ts_ms=now, actor=actor, action="kill_switch.trip", key="halted", old=old, new=self.kill
        )
        message = f"kill switch tripped by {actor}: {reason}; flattening and halting"
        return [
            KillSwitchChanged(ts_ms=now, halted=True, reason=reason, actor=actor),
            self._alert("kill_switch", "critical", message),
            *self._flatten_orders(),
        ]

    def _flatten_orders(self) -> list[BaseEvent]:
        """A reduce-only market order for each position not already being flattened."""
        orders: list[BaseEvent] = []
        since = self.kill.since_ms or 0
        for symbol, held in sorted(self.account.holdings.items()):
            if held.size == ZERO or self._flattening.get(symbol) == held.size:
                continue
            self._flattening[symbol] = held.size
            intent_id = f"kill-switch:{since}:{symbol}:{held.size}"
            orders.append(
                OrderRequest(
                    ts_ms=self._clock.now_ms(),
                    client_order_id=client_order_id(intent_id, "flatten"),
                    symbol=symbol,
                    side="sell" if held.size > ZERO else "buy",
                    order_type="market",
                    amount=abs(held.size),
                    reduce_only=True,
                    intent_id=intent_id,
                )
            )
        return orders

    async def resume(self, actor: str, reason: str = "") -> list[BaseEvent]:
        """Lift the halt; the drawdown is measured from the current equity from now on."""
        now = self._clock.now_ms()
        if not self.kill.halted:
            return []
        old, self.kill = self.kill, KillSwitch(halted=False, reason=reason, actor=actor)
        self.peak = self.account.equity
        self._flattening.clear()
        await self._store.save("kill_switch", self.kill, now)
        await self._store.save("peak_equity", self.peak, now)
        await self._store.audit(
            ts_ms=now,
            actor=actor,
            action="kill_switch.resume",
            key="halted",
            old=old,
            new=self.kill,
        )
        message = f"trading resumed by {actor}" + (f": {reason}" if reason else "")
        return [
            KillSwitchChanged(ts_ms=now, halted=False, reason=reason, actor=actor),
            self._alert("kill_switch", "info", message),
        ]

    # --- limits and status --------------------------------------------------------------

    async def set_limits(self, changes: Mapping[str, Any], actor: str) -> list[BaseEvent]:
        """Validate and apply limit changes; audited, persisted, one ConfigChanged per key."""
        updated, diff = apply_changes(self.limits, changes)
        now = self._clock.now_ms()
        self.limits = updated
        if diff:
            await self._store.save("limits", updated, now)
        events: list[BaseEvent] = []
        for key, (old, new) in diff.items():
            await self._store.audit(
                ts_ms=now, actor=actor, action="limits.set", key=key, old=old, new=new
            )
            events.append(ConfigChanged(ts_ms=now, section="risk", key=key, actor=actor))
        return events

    def status(self) -> RiskStatus:
        """Exposure, daily PnL, drawdown and the use of each limit."""
        gate = self.gate_state()
        return build_status(
            limits=self.limits,
            account=self.account.snapshot(),
            peak=self.peak,
            day=self.day,
            kill=self.kill,
            gate=gate,
            updated_ms=self.account.updated_ms,
        )
