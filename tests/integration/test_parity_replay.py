"""Acceptance: stored candles replayed through the paper path make the backtester's trades.

streamer replay -> signal -> live -> risk -> order -> paper exchange, on stored synthetic candles,
then `viper.parity` pairs the journal's trades with `run_backtest` on the same candles. The
replay is made deterministic by a clock whose every sleep first waits until the whole pipeline
is idle, so the next bar is published only after the last one was fully handled.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.conftest import make_config
from viper.app import ViperApp
from viper.bus import InMemoryBus
from viper.cli import main
from viper.clock import LiveClock
from viper.config import Config
from viper.marketdata.frames import iso_ms
from viper.marketdata.synthetic import generate
from viper.optimizer.store import AppliedParameters, OptimizerStore
from viper.parity import build_report
from viper.store.candles import CandleStore
from viper.store.sqlite import Database
from viper.strategies import get_strategy, live_params

SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
START = 1_704_067_200_000  # 2024-01-01
BARS = 1_500
SLIPPAGE_BPS = 2.0  # the backtester's default: the configured slippage


def _idle(bus: InMemoryBus) -> bool:
    """No event queued or being handled, no order being sent, no report being applied."""
    for sub in bus.subscriptions:
        waiter = sub._waiter  # set only while the subscriber waits for its next event
        if sub.depth or waiter is None or waiter.done():
            return False
    return not any(
        t.get_name().startswith(("order.send", "order.report")) and not t.done()
        for t in asyncio.all_tasks()
    )


class DrainClock(LiveClock):
    """Real time, but a sleep first waits (bounded) until the pipeline has nothing left to do."""

    def __init__(self) -> None:
        self.bus: InMemoryBus | None = None

    async def settle(self, within: float = 5.0) -> None:
        if self.bus is None:
            return
        deadline, stable, last = time.monotonic() + within, 0, None
        while stable < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.0005)
            snapshot = (self.bus.published, sum(s.delivered for s in self.bus.subscriptions))
            stable = stable + 1 if _idle(self.bus) and snapshot == last else 0
            last = snapshot

    async def sleep(self, seconds: float) -> None:
        await self.settle()
        await asyncio.sleep(seconds)


def replay_config(tmp_path: Path) -> Config:
    return make_config(
        tmp_path,
        # The streamer last: everything downstream is subscribed before the first bar goes out.
        modules={"enabled": ["data", "signal", "exchange", "order", "risk", "live", "streamer"]},
        trading={"symbols": SYMBOLS, "timeframe": "1m"},
        streamer={
            "source": "replay",
            "replay_data": "store",
            "speed": 60_000.0,  # a bar per millisecond of pacing, after the drain
            "warmup_bars": 0,  # the live engine acts from the first bar, as the backtest does
            "stale_after_seconds": 3_600.0,
        },
        # Positions small enough that the exposure cap never binds: at the cap, the last unit
        # of room depends on float-level equity differences (paper funding, fee rounding).
        risk={"risk_per_trade": 0.005},
        live={"stops": "exchange", "autostart": True},
        order={"poll_seconds": 30.0},
    )


def cli_parity(tmp_path: Path, config: Config, capsys: pytest.CaptureFixture[str]) -> Any:
    """`viper parity --json` over the same database and candles."""
    toml = tmp_path / "config.toml"
    toml.write_text(
        f'[store]\ndatabase = "{config.store.database}"\ncandles_dir = "{config.store.candles_dir}"\n'
        f"[risk]\nrisk_per_trade = {config.risk.risk_per_trade}\n"
        f"[trading]\nsymbols = {SYMBOLS!r}\n".replace("'", '"')
    )
    capsys.readouterr()
    code = main(
        ["parity", "--since", str(START), "--warmup-bars", "0", "--json", "--config", str(toml)]
    )
    return code, msgspec.json.decode(capsys.readouterr().out)


# wider stops and targets than the defaults: other exits, so other trades than configured
APPLIED = {"sl_atr": 2.5, "tp_atr": 5.0, "exit_threshold": 45.0}


async def apply_before_the_replay(config: Config, params: dict[str, Any]) -> dict[str, Any]:
    """A '*' set stored as the optimizer's apply call stores it, applied before the first bar;
    returns the whole set."""
    full: dict[str, Any] = msgspec.to_builtins(get_strategy("viper").params(params))
    db = Database(config.store.database)
    await db.open()
    try:
        store = OptimizerStore(db)
        await store.migrate()
        await store.apply(
            AppliedParameters(
                strategy="viper",
                symbol="*",
                params=full,
                source_job="opt-test",
                actor="alice",
                applied_ms=START - 60_000,
            )
        )
    finally:
        await db.close()
    return full


@pytest.mark.slow
@pytest.mark.timeout(90)
@pytest.mark.parametrize("applied", [False, True], ids=["configured", "applied"])
async def test_replayed_candles_make_the_backtesters_trades(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], applied: bool
) -> None:
    config = replay_config(tmp_path)
    frames = generate(SYMBOLS, "1m", START, BARS, seed=7)
    store = CandleStore(config.store.candles_dir)
    for symbol, frame in frames.items():
        store.write("bitget", symbol, "1m", frame)
    params = await apply_before_the_replay(config, APPLIED) if applied else live_params(config)
    clock = DrainClock()
    app = ViperApp(config, clock=clock)
    clock.bus = app.bus

    started = time.monotonic()
    async with app.running():
        streamer = app.modules["streamer"]
        while not streamer.health().checks.get("finished"):
            assert time.monotonic() - started < 80, "the replay did not finish in time"
            await asyncio.sleep(0.05)
        await clock.settle()
    report = build_report(config, frames, db_path=config.store.database, since_ms=START)

    summary = report.summary
    assert report.params == params
    assert [n for n in report.notes if "opt-test" in n] == (
        [
            f"the reference backtest uses the parameters applied {iso_ms(START - 60_000)} "
            "from job opt-test by alice"
        ]
        if applied
        else []
    )
    unexplained = [p for p in report.pairs if p.status not in ("exact", "match", "open")]
    assert summary.backtest_trades >= 20, summary
    assert not unexplained, "\n".join(f"{p.status}: {p.explanation} {p}" for p in unexplained)
    for pair in report.pairs:
        live, bt = pair.live, pair.backtest
        assert live is not None and bt is not None
        assert (live.side, live.entry_ms) == (bt.side, bt.entry_ms)
        assert abs(live.entry_price / bt.entry_price - 1) * 1e4 <= SLIPPAGE_BPS
        if pair.status != "open":
            assert (live.exit_ms, live.exit_reason) == (bt.exit_ms, bt.exit_reason)
            assert live.exit_price is not None and bt.exit_price is not None
            assert abs(live.exit_price / bt.exit_price - 1) * 1e4 <= SLIPPAGE_BPS
    code, printed = cli_parity(tmp_path, config, capsys)
    assert code == 0 and printed["summary"] == msgspec.to_builtins(summary)
