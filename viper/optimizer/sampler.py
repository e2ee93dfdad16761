"""An optuna sampler that keeps every trial inside the search space's rules.

`SpaceSampler` wraps TPE, CMA-ES or random sampling and samples all parameters of a trial at
once, then snaps them to the space's steps, rejects combinations breaking a condition
(`slow > fast`) and combinations an earlier trial already has, and retries; after a few misses
it picks an unused valid combination at random. Run under the study lock (`storage.StudyLock`),
no two trials of a study ever get the same parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, CmaEsSampler, RandomSampler, TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from viper.optimizer.space import CategoricalParam, IntParam, Param, SearchSpace

RETRIES = 8
ENUMERABLE = 200_000


def distribution(p: Param) -> BaseDistribution:
    """The optuna distribution of one parameter."""
    if isinstance(p, CategoricalParam):
        return CategoricalDistribution(p.choices)
    if isinstance(p, IntParam):
        return IntDistribution(p.low, p.high, step=1 if p.log else p.step, log=p.log)
    return FloatDistribution(p.low, p.high, step=p.step, log=p.log)


def distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """Every parameter's distribution, by name."""
    return {name: distribution(p) for name, p in space.params.items()}


def inner_sampler(name: str, seed: int | None) -> BaseSampler:
    """The named optuna sampler (TPE with the constant liar, for parallel workers)."""
    if name == "cmaes":
        return CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "random":
        return RandomSampler(seed=seed)
    return TPESampler(seed=seed, multivariate=True, constant_liar=True)


def key_of(values: Mapping[str, Any], names: Sequence[str]) -> tuple[Any, ...]:
    """A hashable identity of a combination."""
    return tuple(values.get(n) for n in names)


class SpaceSampler(BaseSampler):
    """Samples whole combinations that meet the space's conditions and are new to the study."""

    def __init__(
        self, inner: BaseSampler, space: SearchSpace, base: Mapping[str, Any], seed: int | None
    ) -> None:
        self._inner, self._space, self._base = inner, space, dict(base)
        self._names = space.names()
        self._dists = distributions(space)
        self._rng = np.random.default_rng(seed)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return dict(self._dists)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        seen = {
            key_of(t.params, self._names)
            for t in study.get_trials(deepcopy=False)
            if t.number != trial.number and t.params
        }
        inner_space = self._inner.infer_relative_search_space(study, trial)
        wanted = {k: d for k, d in search_space.items() if k in inner_space}
        for _ in range(RETRIES):
            raw = dict(self._inner.sample_relative(study, trial, wanted) if wanted else {})
            for name, dist in search_space.items():
                if name not in raw:
                    raw[name] = self._inner.sample_independent(study, trial, name, dist)
            values = self._space.snap(raw)
            if self._fits(values) and key_of(values, self._names) not in seen:
                return values
        return self._unused(seen) or values

    def _fits(self, values: Mapping[str, Any]) -> bool:
        return self._space.satisfied({**self._base, **values})

    def _unused(self, seen: set[tuple[Any, ...]]) -> dict[str, Any] | None:
        """A random valid combination no trial has (None when there is none)."""
        size = self._space.size()
        if size is not None and size <= ENUMERABLE:
            free = [v for v in self._space.grid() if key_of(v, self._names) not in seen]
            return free[int(self._rng.integers(len(free)))] if free else None
        for _ in range(1000):
            values = self._space.snap({n: self._random(d) for n, d in self._dists.items()})
            if self._fits(values) and key_of(values, self._names) not in seen:
                return values
        return None

    def _random(self, dist: BaseDistribution) -> Any:
        if isinstance(dist, CategoricalDistribution):
            return dist.choices[int(self._rng.integers(len(dist.choices)))]
        assert isinstance(dist, IntDistribution | FloatDistribution)
        if dist.log:
            return float(np.exp(self._rng.uniform(np.log(dist.low), np.log(dist.high))))
        return float(self._rng.uniform(dist.low, dist.high))

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._inner.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._inner.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._inner.reseed_rng()
        self._rng = np.random.default_rng()


def make_sampler(
    name: str, space: SearchSpace, base: Mapping[str, Any], seed: int | None
) -> optuna.samplers.BaseSampler:
    """The study's sampler."""
    return SpaceSampler(inner_sampler(name, seed), space, base, seed)
