"""Which parameters the reference backtest uses when sets were applied through the optimizer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.conftest import make_config
from viper.optimizer.store import AppliedParameters, OptimizerStore
from viper.parity import ParityReport, format_report, summarize
from viper.parity.journal import applied_parameters
from viper.parity.report import reference_params
from viper.store.sqlite import Database
from viper.strategies import live_params

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
SINCE = 1_704_067_200_000


def applied(symbol: str, at_ms: int, **params: Any) -> AppliedParameters:
    return AppliedParameters(
        strategy="viper",
        symbol=symbol,
        params={"threshold": 70.0, **params},
        source_job=f"opt-{symbol[:3]}-{at_ms}",
        actor="alice",
        applied_ms=at_ms,
    )


def test_without_applied_sets_the_configured_parameters_are_used(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert reference_params(config, [], [BTC, ETH], SINCE) == (live_params(config), [])


def test_the_set_in_effect_at_since_is_used_and_later_changes_are_noted(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    sets = [
        applied("*", SINCE - 10, lookback=30),
        applied(BTC, SINCE + 60_000, lookback=40),
        applied("SOL/USDT:USDT", SINCE + 120_000, lookback=50),  # not in this report
    ]
    params, notes = reference_params(config, sets, [BTC, ETH], SINCE)
    assert params == sets[0].params
    assert len(notes) == 2
    assert "job opt-*-" in notes[0] and "reference backtest uses" in notes[0]
    assert f"for {BTC}: trades after then" in notes[1] and "opt-BTC" in notes[1]
    # a change after `until` is outside the report
    assert len(reference_params(config, sets, [BTC, ETH], SINCE, SINCE + 60_000)[1]) == 1


def test_symbols_on_different_sets_fall_back_to_the_configured_set(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    # at the same time a symbol's own set wins over '*', as the live engine chooses at start
    sets = [applied("*", SINCE - 10, lookback=30), applied(BTC, SINCE - 10, lookback=40)]
    params, notes = reference_params(config, sets, [BTC, ETH], SINCE)
    assert params == live_params(config)
    (note,) = notes
    assert "different parameter sets" in note and BTC in note and "opt-BTC" in note
    assert reference_params(config, sets, [BTC], SINCE)[0] == sets[1].params


def test_applied_sets_are_read_in_order_and_a_journal_without_them_has_none(
    tmp_path: Path,
) -> None:
    path = tmp_path / "viper.db"
    sets = [applied("*", SINCE, lookback=30), applied(BTC, SINCE - 5, lookback=40)]

    async def store() -> None:
        db = Database(path)
        await db.open()
        try:
            assert applied_parameters(path, "viper") == []  # no table yet
            optimizer = OptimizerStore(db)
            await optimizer.migrate()
            for one in sets:
                await optimizer.apply(one)
            await optimizer.apply(AppliedParameters(**{**_fields(sets[0]), "strategy": "other"}))
        finally:
            await db.close()

    asyncio.run(store())
    assert applied_parameters(path, "viper") == sets


def _fields(one: AppliedParameters) -> dict[str, Any]:
    return {f: getattr(one, f) for f in one.__struct_fields__}


def test_the_printed_report_ends_with_its_notes() -> None:
    summary = summarize([])
    report = ParityReport(
        since_ms=SINCE,
        until_ms=None,
        symbols=[BTC],
        strategy="viper",
        summary=summary,
        pairs=[],
        notes=["the reference backtest uses the parameters applied ..."],
    )
    assert format_report(report).splitlines()[-1] == (
        "note: the reference backtest uses the parameters applied ..."
    )
