"""The live engine: decisions to intents, protective levels, reversals, switches, exchange stops."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np

from viper.domain import Candle, Order, Position
from viper.events import OrderRequest, TradeIntent
from viper.modules.live.engine import Cancel, LiveEngine
from viper.modules.live.runner import SymbolRunner
from viper.strategies import Decision, Strategy, StrategyParams, get_strategy
from viper.strategies.base import Bars, Decisions, empty_decisions

SYMBOL = "BTC/USDT:USDT"
STEP = 60_000


class ScriptParams(StrategyParams, frozen=True):
    """No parameters: the script is the strategy."""


class Scripted(Strategy[ScriptParams]):
    """Decisions read from a script keyed by bar index (for engine tests)."""

    name = "scripted"
    Params = ScriptParams
    script: ClassVar[dict[int, dict[str, Any]]] = {}

    def warmup(self, params: ScriptParams) -> int:
        return 0

    def decide(self, bars: Bars, params: ScriptParams) -> Decisions:
        return empty_decisions(bars.close.shape[0])

    def incremental(self, params: ScriptParams) -> Any:
        return _Live(self.script)


class _Live:
    def __init__(self, script: dict[int, dict[str, Any]]) -> None:
        self.script, self.n = script, 0

    def update(self, candle: Candle, funding: float = math.nan) -> Decision:
        values = {"stop_distance": 10.0, "take_profit_distance": 20.0} | self.script.get(self.n, {})
        self.n += 1
        return Decision(ts_ms=candle.ts_ms, **values)


def bar(
    i: int, close: float = 100.0, high: float | None = None, low: float | None = None
) -> Candle:
    return Candle(
        ts_ms=i * STEP,
        open=close,
        high=close + 1 if high is None else high,
        low=close - 1 if low is None else low,
        close=close,
        volume=1.0,
    )


def engine(script: dict[int, dict[str, Any]], **kwargs: Any) -> LiveEngine:
    strategy = Scripted()
    Scripted.script = script
    return LiveEngine(strategy, ScriptParams(), [SYMBOL], **kwargs)


def feed(e: LiveEngine, i: int, **prices: float) -> list[Any]:
    return e.on_candle(SYMBOL, bar(i, **prices), (i + 1) * STEP)


def filled(
    e: LiveEngine, size: str = "1", price: str = "100", direction: str = "long"
) -> list[Any]:
    return e.on_position(
        Position(
            symbol=SYMBOL,
            direction=direction,  # type: ignore[arg-type]
            size=Decimal(size),
            entry_price=Decimal(price),
        )
    )


def flat(e: LiveEngine) -> list[Any]:
    return e.on_position(
        Position(symbol=SYMBOL, direction="long", size=Decimal(0), entry_price=Decimal(0))
    )


def test_sends_an_entry_with_stop_and_take_profit_at_the_bar_close() -> None:
    e = engine({1: {"entry_long": True}})

    assert feed(e, 0) == []
    (intent,) = feed(e, 1)

    assert isinstance(intent, TradeIntent)
    assert (intent.purpose, intent.side, intent.price) == ("entry", "buy", 100.0)
    assert (intent.stop_loss, intent.take_profit) == (90.0, 120.0)
    assert intent.ts_ms == 2 * STEP  # the bar's close: the backtester's next open


def test_the_same_bar_always_gives_the_same_intent_id() -> None:
    first, second = engine({0: {"entry_long": True}}), engine({0: {"entry_long": True}})

    assert feed(first, 0)[0].intent_id == feed(second, 0)[0].intent_id


def test_decides_nothing_during_the_warmup_bars() -> None:
    e = engine({0: {"entry_long": True}, 2: {"entry_long": True}}, warmup_bars=2)

    assert feed(e, 0) == [] and feed(e, 1) == []
    assert len(feed(e, 2)) == 1


def test_a_bar_through_the_stop_exits_at_the_stop_first_even_if_it_reaches_the_target() -> None:
    e = engine({0: {"entry_long": True}})
    feed(e, 0)
    filled(e)

    (exit_,) = feed(e, 1, close=100.0, high=125.0, low=89.0)

    assert (exit_.purpose, exit_.side, exit_.reason) == ("exit", "sell", "stop_loss")
    assert e.positions[SYMBOL].state == "exiting"


def test_take_profit_when_the_bar_reaches_the_target() -> None:
    e = engine({0: {"entry_long": True}})
    feed(e, 0)
    filled(e)

    (exit_,) = feed(e, 1, close=110.0, high=121.0, low=99.0)

    assert exit_.reason == "take_profit"


def test_a_trailing_stop_follows_earlier_bars_only() -> None:
    e = engine({0: {"entry_short": True, "trail_distance": 5.0, "take_profit_distance": math.nan}})
    feed(e, 0)
    filled(e, direction="short")

    assert feed(e, 1, close=95.0, high=100.0, low=90.0) == []  # trail now 90 + 5
    (exit_,) = feed(e, 2, close=94.0, high=96.0, low=93.0)

    assert exit_.reason == "trailing_stop" and exit_.side == "buy"


def test_a_reversal_waits_for_the_exit_before_entering() -> None:
    e = engine({0: {"entry_long": True}, 1: {"entry_short": True, "exit_long": True}})
    feed(e, 0)
    filled(e)

    actions = feed(e, 1)
    after = flat(e)

    assert [(a.purpose, a.side) for a in actions] == [("exit", "sell")]
    assert [(a.purpose, a.side) for a in after if isinstance(a, TradeIntent)] == [("entry", "sell")]
    assert after[0].ts_ms == 2 * STEP  # decided at the same bar as the exit


def test_paused_sends_no_entries_and_stopped_no_signal_exits_but_stops_still_work() -> None:
    e = engine({0: {"entry_long": True}, 1: {"exit_long": True}, 2: {"entry_long": True}})
    feed(e, 0)
    filled(e)
    e.set_state("stopped")

    assert feed(e, 1) == []
    (stop,) = feed(e, 2, low=80.0)
    e.set_state("paused")
    flat(e)

    assert stop.reason == "stop_loss"
    assert feed(e, 3) == []


def test_reduce_only_blocks_entries_until_lifted() -> None:
    e = engine({0: {"entry_long": True}, 1: {"entry_long": True}})

    assert e.restrict("stale:BTC", "stale") and not e.restrict("stale:BTC", "stale")
    assert feed(e, 0) == []
    e.lift("stale:BTC")
    assert len(feed(e, 1)) == 1


def test_a_refused_entry_leaves_no_position_and_a_refused_exit_keeps_it_open() -> None:
    e = engine({0: {"entry_long": True}, 1: {"exit_long": True}})
    (entry,) = feed(e, 0)
    e.on_rejected(entry.intent_id, "max_exposure")
    assert SYMBOL not in e.positions

    e2 = engine({0: {"entry_long": True}, 1: {"exit_long": True}})
    feed(e2, 0)
    filled(e2)
    (exit_,) = feed(e2, 1)
    e2.on_rejected(exit_.intent_id, "exchange_unavailable")
    assert e2.positions[SYMBOL].state == "open"


def test_exchange_stop_mode_places_protective_orders_and_cancels_them_when_flat() -> None:
    e = engine({0: {"entry_long": True}}, stops="exchange")
    e.price_steps[SYMBOL] = Decimal("0.1")
    feed(e, 0)

    orders = filled(e, size="0.5", price="100.03")
    cancels = flat(e)

    assert [(o.order_type, o.side, o.reduce_only, o.amount) for o in orders] == [
        ("stop", "sell", True, Decimal("0.5")),
        ("limit", "sell", True, Decimal("0.5")),
    ]
    assert orders[0].stop_price == Decimal("90.0") and orders[1].price == Decimal("120.0")
    assert {c.client_order_id for c in cancels if isinstance(c, Cancel)} == {
        o.client_order_id for o in orders
    }


def test_a_refused_protective_order_falls_back_to_engine_side_stops() -> None:
    e = engine({0: {"entry_long": True}}, stops="exchange")
    feed(e, 0)
    stop, _ = filled(e)
    assert isinstance(stop, OrderRequest)
    assert feed(e, 1, low=85.0) == []  # the exchange holds the stop

    e.on_order_update(
        Order(
            client_order_id=stop.client_order_id,
            symbol=SYMBOL,
            side="sell",
            type="stop",
            amount=Decimal(1),
            state="rejected",
        )
    )
    (exit_,) = feed(e, 2, low=85.0)

    assert exit_.reason == "stop_loss"


def test_adopts_a_position_it_did_not_open() -> None:
    e = engine({})

    assert filled(e, size="2", price="50") == []

    managed = e.positions[SYMBOL]
    assert managed.adopted and managed.state == "open" and managed.size == Decimal(2)
    assert np.isnan(managed.stop)


def test_entries_wait_for_every_symbols_bar_and_the_bars_exits() -> None:
    other = "ETH/USDT:USDT"
    Scripted.script = {0: {"entry_long": True}, 1: {"entry_short": True, "exit_long": True}}
    e = LiveEngine(Scripted(), ScriptParams(), [SYMBOL, other])

    assert e.on_candle(SYMBOL, bar(0), STEP) == []  # ETH's bar is not in yet
    first = e.on_candle(other, bar(0), STEP)
    e.on_rejected(first[1].intent_id, "max_exposure")
    filled(e)
    exits = e.on_candle(SYMBOL, bar(1), 2 * STEP)
    held_back = e.on_candle(other, bar(1), 2 * STEP)
    released = flat(e)

    assert [(a.symbol, a.purpose) for a in first] == [(SYMBOL, "entry"), (other, "entry")]
    assert [(a.symbol, a.purpose) for a in exits] == [(SYMBOL, "exit")]
    assert held_back == []  # both entries wait for BTC's exit to fill
    assert [(a.symbol, a.side) for a in released] == [(SYMBOL, "sell"), (other, "sell")]


def _wave(n: int) -> list[Candle]:
    return [bar(i, close=100.0 + 10.0 * math.sin(i / 7.0) + 0.05 * i) for i in range(n)]


def test_new_parameters_trade_from_the_next_bar_warmed_on_the_kept_bars() -> None:
    sma = get_strategy("sma_cross")
    before, after = sma.params({"fast": 5, "slow": 20}), sma.params({"fast": 10, "slow": 30})
    candles = _wave(300)
    engine = LiveEngine(sma, before, [SYMBOL], warmup_bars=50)
    for candle in candles[:150]:
        engine.on_candle(SYMBOL, candle, candle.ts_ms + STEP)
    assert engine.set_params([SYMBOL, "NOT/TRADED:USDT"], after) == [SYMBOL]
    runner = engine.runners[SYMBOL]
    assert runner.params == after and runner.cold == 0 and runner.bars == 150
    # the same parameters from scratch on the 50 kept bars and what follows: the same decisions
    fresh = SymbolRunner(sma, after)
    for candle in candles[100:150]:
        fresh.update(candle)
    assert fresh.last == runner.last
    unchanged = SymbolRunner(sma, before)
    for candle in candles[:150]:
        unchanged.update(candle)
    differ = 0
    for candle in candles[150:]:
        engine.on_candle(SYMBOL, candle, candle.ts_ms + STEP)
        assert runner.last == fresh.update(candle)
        differ += runner.last != unchanged.update(candle)
    assert differ > 0  # the change shows in the decisions
    assert engine.runners[SYMBOL].bars == 300


def test_new_parameters_needing_more_bars_than_kept_count_only_once_warm() -> None:
    sma = get_strategy("sma_cross")
    engine = LiveEngine(sma, sma.params({"fast": 5, "slow": 20}), [SYMBOL], warmup_bars=0)
    candles = _wave(100)
    for candle in candles[:60]:
        engine.on_candle(SYMBOL, candle, candle.ts_ms + STEP)
    runner = engine.runners[SYMBOL]
    assert len(runner.history) == 20  # what the configured parameters need
    engine.set_params([SYMBOL], sma.params({"fast": 10, "slow": 30}))
    assert runner.cold == 10 and runner.history.maxlen == 30
    for candle in candles[60:70]:
        assert runner.cold > 0
        engine.on_candle(SYMBOL, candle, candle.ts_ms + STEP)
    assert runner.cold == 0 and len(runner.history) == 30
