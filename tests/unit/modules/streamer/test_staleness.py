"""Symbols go stale once after the silence threshold and come back on the next data."""

from __future__ import annotations

import pytest

from viper.modules.streamer.staleness import Staleness


def test_goes_stale_once_and_resumes_on_data() -> None:
    tracker = Staleness(["A", "B"], after_seconds=10.0, now=0.0)
    assert tracker.check(9.9) == []
    tracker.seen("A", 5.0)
    assert tracker.check(10.0) == [("B", 10.0)]
    assert tracker.check(12.0) == []  # reported once
    assert tracker.stale == ("B",)
    assert tracker.check(15.0) == [("A", 10.0)]
    assert tracker.stale == ("A", "B")
    assert tracker.seen("B", 16.0) is True
    assert tracker.seen("B", 17.0) is False
    assert tracker.stale == ("A",)


def test_unknown_symbols_are_ignored_and_the_threshold_must_be_positive() -> None:
    tracker = Staleness(["A"], after_seconds=1.0, now=0.0)
    assert tracker.seen("Z", 1.0) is False
    with pytest.raises(ValueError, match="positive"):
        Staleness(["A"], after_seconds=0.0, now=0.0)


def test_check_interval_is_a_quarter_of_the_threshold_within_bounds() -> None:
    assert Staleness([], 180.0, 0.0).check_interval() == 1.0
    assert Staleness([], 0.4, 0.0).check_interval() == pytest.approx(0.1)
    assert Staleness([], 0.01, 0.0).check_interval() == 0.05
