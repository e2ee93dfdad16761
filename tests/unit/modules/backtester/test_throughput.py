"""The job duration estimate learns from finished jobs."""

from __future__ import annotations

from viper.modules.backtester.jobs import Throughput


def test_estimate_is_startup_plus_bars_over_speed() -> None:
    speed = Throughput(startup_seconds=1.0, bars_per_second=1_000.0)
    assert speed.estimate(0) == 1.0
    assert speed.estimate(5_000) == 6.0


def test_record_moves_the_estimate_towards_what_was_measured() -> None:
    speed = Throughput(startup_seconds=1.0, bars_per_second=1_000.0, weight=0.5)
    speed.record(bars=4_000, wall_seconds=3.0, compute_seconds=1.0)
    assert speed.startup_seconds == 1.5
    assert speed.bars_per_second == 2_500.0
    for _ in range(30):
        speed.record(bars=4_000, wall_seconds=3.0, compute_seconds=1.0)
    assert abs(speed.estimate(4_000) - 3.0) < 0.01


def test_record_ignores_jobs_without_bars_for_the_speed() -> None:
    speed = Throughput(startup_seconds=1.0, bars_per_second=1_000.0)
    speed.record(bars=0, wall_seconds=1.0, compute_seconds=0.0)
    assert speed.bars_per_second == 1_000.0
