"""The evaluator's figures are exactly `run_backtest`'s, on one or several symbols."""

from __future__ import annotations

import polars as pl
import pytest

from viper.backtest import BacktestSettings, run_backtest
from viper.config import RiskConfig
from viper.optimizer.evaluate import Dataset, Evaluator
from viper.optimizer.objectives import Figures
from viper.strategies import get_strategy

CASES = [
    ("sma_cross", {"fast": 10, "slow": 60}, "fixed_fraction"),
    ("sma_cross", {"fast": 15, "slow": 40, "sl_pct": 0.02, "tp_pct": 0.04}, "risk"),
    ("viper", {"threshold": 80.0, "lookback": 20}, "risk"),
]


@pytest.mark.parametrize(("name", "params", "sizing"), CASES)
def test_figures_equal_run_backtest(
    btc: pl.DataFrame, name: str, params: dict[str, object], sizing: str
) -> None:
    settings = BacktestSettings(sizing=sizing, timeframe="1h")  # type: ignore[arg-type]
    evaluator = Evaluator(Dataset({"BTC": btc}, None, "1h"), get_strategy(name), settings)
    figures = evaluator.run(evaluator.params(params))
    result = run_backtest(
        {"BTC": btc}, name, params, sizing=sizing, timeframe="1h", include_trades=False
    )  # type: ignore[arg-type]
    assert figures.total_trades == result.total_trades > 0
    assert figures.sharpe == result.sharpe_ratio
    assert figures.sortino == result.sortino_ratio
    assert figures.total_return == result.total_return
    assert figures.max_drawdown == result.max_drawdown
    assert figures.profit_factor == result.profit_factor
    assert figures.calmar == result.calmar
    assert figures.exposure == result.exposure


def test_two_symbols_on_one_grid_equal_run_backtest(btc: pl.DataFrame, eth: pl.DataFrame) -> None:
    frames = {"BTC": btc, "ETH": eth}
    params = {"fast": 20, "slow": 80, "sl_pct": 0.03}
    evaluator = Evaluator(
        Dataset(frames, None, "1h"), get_strategy("sma_cross"), BacktestSettings(timeframe="1h")
    )
    figures = evaluator.run(evaluator.params(params))
    result = run_backtest(frames, "sma_cross", params, timeframe="1h", include_trades=False)
    assert figures.total_trades == result.total_trades
    assert figures.sharpe == result.sharpe_ratio
    assert figures.total_return == result.total_return


def test_chunks_report_each_piece_and_chain_the_equity(btc: pl.DataFrame) -> None:
    settings = BacktestSettings(sizing="fixed_fraction", timeframe="1h")
    evaluator = Evaluator(Dataset({"BTC": btc}, None, "1h"), get_strategy("sma_cross"), settings)
    seen: list[tuple[int, Figures]] = []
    final = evaluator.run(
        evaluator.params({"fast": 10, "slow": 40}),
        chunks=4,
        on_chunk=lambda k, f: seen.append((k, f)),
    )
    assert [k for k, _ in seen] == [0, 1, 2, 3]
    assert seen[-1][1] == final
    trades = [f.total_trades for _, f in seen]
    assert trades == sorted(trades) and trades[-1] > 0


def test_a_window_runs_only_its_bars(btc: pl.DataFrame) -> None:
    risk = RiskConfig(max_drawdown=1.0, daily_loss_limit=1.0)  # no kill switch: trade throughout
    settings = BacktestSettings(sizing="fixed_fraction", timeframe="1h", risk=risk)
    dataset = Dataset({"BTC": btc}, None, "1h")
    evaluator = Evaluator(dataset, get_strategy("sma_cross"), settings)
    p = evaluator.params({"fast": 10, "slow": 40})
    half = dataset.bars // 2
    first, second = evaluator.run(p, (0, half)), evaluator.run(p, (half, dataset.bars))
    whole = evaluator.run(p)
    assert 0 < first.total_trades < whole.total_trades
    assert 0 < second.total_trades < whole.total_trades
    assert dataset.window_of(int(dataset.ts[10]), int(dataset.ts[20])) == (10, 20)
