"""Walk-forward windows, parameter stability and the overfitting verdict."""

from __future__ import annotations

import pytest

from viper.errors import ValidationError
from viper.optimizer.results import WindowReport
from viper.optimizer.space import default_space
from viper.optimizer.spec import WalkForwardSettings
from viper.optimizer.walkforward import _verdict, stability, windows


def test_rolling_windows_slide_by_the_out_of_sample_length() -> None:
    found = windows(900, WalkForwardSettings(windows=5, ratio=4.0))
    assert found[0] == ((0, 400), (400, 500))
    assert found[1] == ((100, 500), (500, 600))
    assert found[-1] == ((400, 800), (800, 900))
    assert all(oos[0] == ins[1] for ins, oos in found)


def test_anchored_windows_all_start_at_the_first_bar() -> None:
    found = windows(900, WalkForwardSettings(windows=5, ratio=4.0, anchored=True))
    assert [ins for ins, _ in found] == [(0, 400), (0, 500), (0, 600), (0, 700), (0, 800)]


def test_explicit_lengths_win_over_the_ratio() -> None:
    found = windows(1000, WalkForwardSettings(windows=3, in_bars=300, out_bars=50))
    assert found == [((0, 300), (300, 350)), ((50, 350), (350, 400)), ((100, 400), (400, 450))]


def test_windows_that_do_not_fit_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        windows(100, WalkForwardSettings(windows=3, in_bars=90, out_bars=10))
    assert caught.value.field == "walk_forward"


def report(index: int, params: dict[str, int]) -> WindowReport:
    return WindowReport(
        index=index,
        in_sample=("", ""),
        out_of_sample=("", ""),
        in_bars=1,
        out_bars=1,
        trials=1,
        best_params=params,
        in_value=1.0,
        out_value=0.5,
    )


def test_stability_measures_how_far_the_best_parameters_move() -> None:
    space = default_space("sma_cross").space
    steady = stability(space, [report(i, {"fast": 10, "slow": 60}) for i in range(4)])
    assert steady["fast"].spread == 0.0 and steady["fast"].changes == 0
    moving = stability(space, [report(i, {"fast": 5 + 15 * i, "slow": 60}) for i in range(4)])
    assert moving["fast"].spread > 0.3 and moving["fast"].changes == 3
    assert moving["slow"].spread == 0.0


class _Spec:
    objective, overfit_ratio = "sharpe", 0.5


def test_oos_far_below_is_is_flagged_as_overfitting() -> None:
    overfit, warning = _verdict(_Spec(), 2.0, 0.8)  # type: ignore[arg-type]
    assert overfit and "overfitting" in warning and "50%" in warning
    assert _verdict(_Spec(), 2.0, 1.2) == (False, "")  # type: ignore[arg-type]
    assert _verdict(_Spec(), -0.5, -0.1)[0]  # type: ignore[arg-type]
