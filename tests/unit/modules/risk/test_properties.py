"""Property: no order that breaks a risk limit ever reaches the exchange.

Random limits, equity, positions, switches and streams of intents (entries and exits, sized or
with a manual amount and leverage, on known and unknown symbols) go through the risk manager;
every approved order is sent to a recording exchange, and every order it records is checked
against every limit, computed here independently of the gate.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.unit.modules.risk.helpers import BTC, ETH, MARKETS, RecordingExchange, intent
from viper.clock import TestClock
from viper.config import RiskConfig
from viper.events import OrderRequest
from viper.modules.risk.gate import Approval
from viper.modules.risk.manager import RiskManager
from viper.modules.risk.store import DayState, KillSwitch, RiskState, RiskStore
from viper.store.sqlite import Database

SYMBOLS = [BTC, BTC, ETH, ETH, "XRP/USDT:USDT"]
SLIPPAGE, TAKER = 0.0002, 0.0006
PRICES = {BTC: 60_000.0, ETH: 3_000.0, "XRP/USDT:USDT": 0.5}

limits_st = st.builds(
    RiskConfig,
    risk_per_trade=st.floats(0.001, 0.1),
    max_leverage=st.integers(1, 125),
    max_open_positions=st.integers(1, 4),
    daily_loss_limit=st.floats(0.01, 1.0),
    max_drawdown=st.floats(0.01, 1.0),
    max_total_exposure=st.floats(0.1, 10.0),
    max_notional_per_symbol=st.floats(10.0, 200_000.0),
)
intent_st = st.fixed_dictionaries(
    {
        "symbol": st.sampled_from(SYMBOLS),
        "side": st.sampled_from(["buy", "sell"]),
        "purpose": st.sampled_from(["entry", "entry", "exit"]),
        "move": st.floats(0.5, 1.5),
        "stop_pct": st.one_of(st.floats(0.001, 0.2), st.none(), st.floats(-0.05, 0.2)),
        "amount": st.one_of(st.none(), st.none(), st.decimals("-1", "3", places=3)),
        "leverage": st.one_of(st.none(), st.none(), st.integers(0, 150)),
    }
)
RARELY = st.sampled_from([False, False, False, True])
holding_st = st.tuples(st.sampled_from([BTC, ETH]), st.integers(1, 3000), st.booleans())


def _violations(
    request: OrderRequest, ctx: dict[str, Any], price: Decimal, leverage: int
) -> list[str]:
    """Every limit `request` breaks, given the account as it stood when it was approved."""
    limits: RiskConfig = ctx["limits"]
    equity: Decimal = ctx["equity"]
    held: dict[str, Decimal] = ctx["held"]
    if request.reduce_only:
        size = held.get(request.symbol, Decimal(0))
        reduces = (size > 0 and request.side == "sell") or (size < 0 and request.side == "buy")
        return [] if reduces and request.amount <= abs(size) else ["exit does not reduce"]
    market = MARKETS.get(request.symbol)
    if market is None:
        return ["unknown symbol"]
    notional = request.amount * price
    exposure = sum((abs(s) * ctx["marks"][sym] for sym, s in held.items()), Decimal(0))
    exposure += sum(ctx["pending"].values(), Decimal(0))
    busy = {s for s, size in held.items() if size != 0} | set(ctx["pending"])
    checks = {
        "switch": ctx["halted"] or ctx["blocked"] or not ctx["gate"],
        "amount": request.amount <= 0 or request.amount % market.amount_step != 0,
        "min_amount": request.amount < market.min_amount,
        "min_notional": notional < market.min_notional,
        "notional": notional > Decimal(repr(limits.max_notional_per_symbol)),
        "leverage": notional > limits.max_leverage * equity
        or leverage > min(limits.max_leverage, market.max_leverage),
        "exposure": exposure + notional > Decimal(repr(limits.max_total_exposure)) * equity,
        "open_positions": len(busy) >= limits.max_open_positions,
        "same_symbol": request.symbol in busy,
        "margin": notional * (Decimal(1) / leverage + market.taker_fee) > ctx["free"],
    }
    return [name for name, broken in checks.items() if broken]


def _over_budget(
    amount: float, price: float, stop: float, limits: RiskConfig, equity: float
) -> list[str]:
    """A sized entry must lose at most `risk_per_trade` of equity at its stop (fees included)."""
    side = 1 if stop < price else -1
    stop_fill = stop * (1 - side * SLIPPAGE)
    loss = amount * (abs(price - stop) + SLIPPAGE * stop + TAKER * (price + stop_fill))
    return ["risk_per_trade"] if loss > limits.risk_per_trade * equity * (1 + 1e-9) else []


async def _run(
    limits: RiskConfig, equity: float, holdings: list, switches: tuple, stream: list
) -> None:
    halted, blocked, gate_open = switches
    exchange = RecordingExchange(equity)
    for symbol, lots, long in holdings:
        step = MARKETS[symbol].amount_step
        exchange.hold(symbol, str(lots * step), PRICES[symbol], "long" if long else "short")
    db = Database(":memory:")
    await db.open()
    store = RiskStore(db)
    await store.migrate()
    state = RiskState(
        kill_switch=KillSwitch(halted=halted),
        day=DayState(day=TestClock().now_ms() // 86_400_000, start_equity=equity, blocked=blocked),
        peak_equity=equity,
    )
    manager = RiskManager(
        limits=limits,
        state=state,
        store=store,
        clock=TestClock(),
        exchange=lambda: exchange,
        trading_gate=lambda: _Gate(gate_open),
        slippage=SLIPPAGE,
    )
    await manager.account.refresh(exchange, 0)
    held = {h.symbol: h.size for h in manager.account.holdings.values()}
    ctx: dict[str, Any] = {
        "limits": limits,
        "equity": Decimal(repr(equity)),
        "free": Decimal(repr(equity)),
        "held": held,
        "marks": {s: Decimal(repr(PRICES[s])) for s in PRICES},
        "pending": {},
        "halted": halted,
        "blocked": blocked,
        "gate": gate_open,
    }
    for n, raw in enumerate(stream):
        price = PRICES[raw["symbol"]] * raw["move"]
        stop = (
            None
            if raw["stop_pct"] is None
            else price * (1 - raw["stop_pct"] * (1 if raw["side"] == "buy" else -1))
        )
        trade = intent(raw["symbol"], raw["side"], raw["purpose"], price, stop, intent_id=f"p{n}")
        ctx["marks"][raw["symbol"]] = Decimal(repr(price))
        outcome = await manager.decide(trade, amount=raw["amount"], leverage=raw["leverage"])
        if not isinstance(outcome, Approval):
            event(f"refused: {outcome.reason}")
            continue
        request = manager.approve(trade, outcome)
        await exchange.create_order(
            client_order_id=request.client_order_id,
            symbol=request.symbol,
            side=request.side,
            type=request.order_type,
            amount=request.amount,
            reduce_only=request.reduce_only,
        )
        leverage = raw["leverage"] if raw["leverage"] is not None else limits.max_leverage
        broken = _violations(request, ctx, Decimal(repr(price)), leverage)
        if raw["amount"] is None and not request.reduce_only and stop is not None:
            broken += _over_budget(float(request.amount), price, stop, limits, equity)
        assert not broken, f"{request} breaks {broken}"
        event("approved exit" if request.reduce_only else "approved entry")
        if not request.reduce_only:
            ctx["pending"][request.symbol] = request.amount * Decimal(repr(price))
    assert len(exchange.orders) == manager.approved
    await db.close()


class _Gate:
    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed

    def entries_allowed(self) -> tuple[bool, str]:
        return self.allowed, "" if self.allowed else "awaiting reconciliation"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    limits=limits_st,
    equity=st.floats(100.0, 1_000_000.0),
    holdings=st.lists(holding_st, max_size=2, unique_by=lambda h: h[0]),
    switches=st.tuples(RARELY, RARELY, RARELY.map(lambda closed: not closed)),
    stream=st.lists(intent_st, min_size=1, max_size=8),
)
def test_no_order_breaking_a_limit_reaches_the_exchange(
    limits: RiskConfig, equity: float, holdings: list, switches: tuple, stream: list
) -> None:
    asyncio.run(_run(limits, equity, holdings, switches, stream))
