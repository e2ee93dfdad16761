"""The pre-trade gate: sizing from the stop, every cap and switch, and exits that always pass."""

from __future__ import annotations

from decimal import Decimal

from tests.unit.modules.risk.helpers import BTC, ETH, MARKETS, intent
from viper.config import RiskConfig
from viper.modules.risk.gate import (
    Account,
    Approval,
    GateState,
    Holding,
    Pending,
    Refusal,
    check_entry,
    check_exit,
    round_to_step,
)

LIMITS = RiskConfig()
OPEN = GateState()


def account(equity: float = 10_000.0, **holdings: tuple[str, float]) -> Account:
    held = {
        symbol: Holding(symbol=symbol, size=Decimal(size), entry_price=price, mark=price)
        for symbol, (size, price) in holdings.items()
    }
    return Account(equity=equity, free_margin=equity, holdings=held)


def test_sizes_an_entry_so_the_stop_loses_the_risk_budget() -> None:
    outcome = check_entry(intent(stop=59_400.0), LIMITS, account(), MARKETS[BTC], OPEN)

    assert isinstance(outcome, Approval)
    # 2% of 10,000 over the 600 move plus both taker fees (71.64), rounded down to the step
    assert outcome.amount == Decimal("0.297")
    assert outcome.amount % MARKETS[BTC].amount_step == 0
    assert not outcome.reduce_only and outcome.side == "buy"


def test_refuses_an_unknown_symbol() -> None:
    outcome = check_entry(intent(symbol="DOGE/USDT:USDT"), LIMITS, account(), None, OPEN)

    assert outcome == Refusal(reason="unknown_symbol", detail="unknown symbol 'DOGE/USDT:USDT'")


def test_fails_closed_until_reconciliation_passed() -> None:
    gate = GateState(entries_allowed=False, gate_reason="awaiting reconciliation")

    outcome = check_entry(intent(), LIMITS, account(), MARKETS[BTC], gate)

    assert isinstance(outcome, Refusal)
    assert (outcome.reason, outcome.detail) == ("trading_gate", "awaiting reconciliation")


def test_refuses_entries_while_halted_or_after_the_daily_loss_limit() -> None:
    halted = check_entry(intent(), LIMITS, account(), MARKETS[BTC], GateState(halted=True))
    daily = check_entry(intent(), LIMITS, account(), MARKETS[BTC], GateState(daily_blocked=True))

    assert isinstance(halted, Refusal) and halted.reason == "kill_switch"
    assert isinstance(daily, Refusal) and daily.reason == "daily_loss_limit"


def test_refuses_over_max_open_positions_counting_pending_entries() -> None:
    limits = RiskConfig(max_open_positions=2)
    held = account(**{ETH: ("1", 3_000.0)})
    busy = Account(
        equity=held.equity,
        free_margin=held.free_margin,
        holdings=held.holdings,
        pending={"x": Pending(client_order_id="x", symbol="SOL/USDT:USDT", notional=Decimal(100))},
    )

    outcome = check_entry(intent(), limits, busy, MARKETS[BTC], OPEN)

    assert isinstance(outcome, Refusal) and outcome.reason == "max_open_positions"


def test_refuses_a_second_entry_in_a_symbol_already_held() -> None:
    outcome = check_entry(intent(), LIMITS, account(**{BTC: ("0.1", 60_000.0)}), MARKETS[BTC], OPEN)

    assert isinstance(outcome, Refusal) and outcome.reason == "position_open"


def test_caps_a_sized_entry_at_the_notional_limit_per_symbol() -> None:
    limits = RiskConfig(max_notional_per_symbol=6_000.0)

    outcome = check_entry(intent(stop=59_900.0), limits, account(), MARKETS[BTC], OPEN)

    assert isinstance(outcome, Approval)
    assert outcome.amount == Decimal("0.1")
    assert outcome.notional <= Decimal(6_000)


def test_refuses_a_manual_order_over_the_leverage_cap() -> None:
    small = account(equity=4_000.0)
    over = check_entry(intent(), LIMITS, small, MARKETS[BTC], OPEN, amount=Decimal("0.8"))
    lever = check_entry(intent(), LIMITS, account(), MARKETS[BTC], OPEN, leverage=50)

    assert isinstance(over, Refusal) and over.reason == "leverage"  # 48,000 > 10 x 4,000
    assert isinstance(lever, Refusal) and lever.reason == "leverage"


def test_refuses_a_zero_or_negative_manual_amount() -> None:
    for amount in ("0", "-1"):
        outcome = check_entry(
            intent(), LIMITS, account(), MARKETS[BTC], OPEN, amount=Decimal(amount)
        )
        assert isinstance(outcome, Refusal) and outcome.reason == "invalid_input"


def test_refuses_an_entry_without_a_stop() -> None:
    outcome = check_entry(intent(stop=None), LIMITS, account(), MARKETS[BTC], OPEN)

    assert isinstance(outcome, Refusal) and outcome.reason == "no_stop_distance"


def test_exits_pass_even_when_halted_and_close_the_whole_position() -> None:
    held = account(**{BTC: ("0.25", 60_000.0)})

    outcome = check_exit(intent(side="sell", purpose="exit"), held)

    assert outcome == Approval(
        side="sell",
        amount=Decimal("0.25"),
        reduce_only=True,
        leverage=1,
        notional=Decimal("0.25") * Decimal("60000.0"),
    )


def test_refuses_an_exit_without_a_position_or_on_the_wrong_side() -> None:
    none = check_exit(intent(side="sell", purpose="exit"), account())
    wrong = check_exit(intent(side="buy", purpose="exit"), account(**{BTC: ("0.25", 60_000.0)}))

    assert isinstance(none, Refusal) and none.reason == "no_position"
    assert isinstance(wrong, Refusal) and wrong.reason == "not_reducing"


def test_rounds_down_to_the_step() -> None:
    assert round_to_step(Decimal("0.3319"), Decimal("0.001")) == Decimal("0.331")
    assert round_to_step(Decimal("7"), Decimal(0)) == Decimal(7)
