"""The space sampler: every trial meets the conditions and no two trials share parameters."""

from __future__ import annotations

import optuna
import pytest

from viper.optimizer.sampler import make_sampler
from viper.optimizer.space import default_space
from viper.optimizer.study import suggest


@pytest.mark.parametrize("sampler", ["tpe", "cmaes", "random"])
def test_trials_are_unique_and_meet_the_conditions(sampler: str) -> None:
    space = default_space("sma_cross").space
    study = optuna.create_study(direction="maximize", sampler=make_sampler(sampler, space, {}, 7))
    for _ in range(60):
        trial = study.ask()
        values = suggest(trial, space)
        study.tell(trial, float(values["slow"] - values["fast"]))
    seen = [(t.params["fast"], t.params["slow"]) for t in study.trials]
    assert len(set(seen)) == 60
    assert all(slow > fast for fast, slow in seen)
    assert all(fast % 5 == 0 and slow % 20 == 0 for fast, slow in seen)


def test_the_whole_valid_grid_can_be_sampled_without_a_repeat() -> None:
    space = default_space("sma_cross").space
    study = optuna.create_study(direction="maximize", sampler=make_sampler("tpe", space, {}, 1))
    for _ in range(90):
        trial = study.ask()
        study.tell(trial, float(sum(suggest(trial, space).values())))
    assert len({tuple(t.params.values()) for t in study.trials}) == 90
