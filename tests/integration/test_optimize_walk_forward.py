"""Walk-forward validation on real BTC perpetual candles: windows, IS vs OOS, stability, warning."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tests.conftest import make_config
from tests.integration.optimizer_data import BTC, store_real_candles
from viper.optimizer.runner import optimize
from viper.optimizer.spec import OptimizeRequest, resolve
from viper.store.candles import CandleStore


def request(**fields: object) -> OptimizeRequest:
    body = {
        "symbols": [BTC],
        "start_date": "2020-01-01",
        "end_date": "2025-01-01",
        "timeframe": "1h",
        "method": "walk_forward",
        "constraints": {"min_trades": 3},
    }
    body.update(fields)
    return msgspec.convert(body, OptimizeRequest)


async def test_rolling_walk_forward_reports_each_window(tmp_path: Path) -> None:
    config = make_config(tmp_path, risk={"max_drawdown": 1.0, "daily_loss_limit": 1.0})
    store_real_candles(Path(config.store.candles_dir))
    spec = resolve(
        request(walk_forward={"windows": 4, "ratio": 3}),
        config,
        CandleStore(config.store.candles_dir),
        job_id="wf",
        source="test",
    )
    seen: list[float] = []
    result = await optimize(spec, 2, seen.append)
    wf = result.walk_forward
    assert wf is not None and len(wf.windows) == 4 and not wf.anchored
    assert seen and seen[-1] == 1.0
    for a, b in zip(wf.windows, wf.windows[1:], strict=False):
        assert a.out_of_sample[1] == b.out_of_sample[0]  # OOS windows tile the period
        assert a.in_sample[0] < b.in_sample[0]  # rolling: the in-sample start moves
    for w in wf.windows:
        assert w.trials == 90 and w.best_params is not None
        assert w.in_sample[1] == w.out_of_sample[0]
        assert w.in_bars == 3 * w.out_bars
        assert w.in_value is not None and w.in_figures is not None and w.out_figures is not None
    assert set(wf.stability) == {"fast", "slow"}
    assert all(0.0 <= s.spread <= 1.0 for s in wf.stability.values())
    assert wf.mean_in == sum(w.in_value for w in wf.windows) / 4  # type: ignore[misc]
    expected = (
        wf.mean_out is None
        or wf.mean_in is None
        or wf.mean_out < 0.5 * wf.mean_in
        or wf.mean_in <= 0
    )
    assert wf.overfit == expected
    assert bool(wf.warning) == wf.overfit
    assert result.best_params == wf.windows[-1].best_params


async def test_anchored_walk_forward_with_optuna_inside(tmp_path: Path) -> None:
    config = make_config(tmp_path, risk={"max_drawdown": 1.0, "daily_loss_limit": 1.0})
    store_real_candles(Path(config.store.candles_dir))
    body = request(
        strategy="viper",
        trials=12,
        seed=5,
        walk_forward={"windows": 3, "ratio": 4, "anchored": True},
    )
    spec = resolve(body, config, CandleStore(config.store.candles_dir), job_id="wfa", source="test")
    result = await optimize(spec, 2)
    wf = result.walk_forward
    assert wf is not None and wf.anchored
    assert {w.in_sample[0] for w in wf.windows} == {wf.windows[0].in_sample[0]}
    assert all(w.trials == 12 for w in wf.windows)
    assert set(wf.stability) == {"threshold", "lookback", "sl_atr", "tp_atr", "exit_threshold"}
