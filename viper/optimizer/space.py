"""Search spaces: which strategy parameters an optimizer varies, over which values, under which
conditions; and the default space of each strategy.

A space is declarative data (it travels in requests, job specs and study attributes):
`int` and `float` ranges (inclusive, optional `step`, optional `log` scale), `categorical`
choices, and conditions between parameters (`slow > fast`). `check` validates a space against a
strategy's `Params` and raises ValidationError naming `space.<parameter>` (422 over HTTP).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator, Mapping
from itertools import product
from typing import Any, Literal

import msgspec

from viper.errors import ValidationError
from viper.strategies.base import Strategy

Scalar = bool | int | float | str
Op = Literal[">", ">=", "<", "<=", "!="]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "!=": operator.ne,
}


class IntParam(msgspec.Struct, frozen=True, kw_only=True, tag="int", tag_field="type"):
    """Integers low..high (inclusive) every `step`; `log` samples on a log scale (step 1 only)."""

    low: int
    high: int
    step: int = 1
    log: bool = False


class FloatParam(msgspec.Struct, frozen=True, kw_only=True, tag="float", tag_field="type"):
    """Reals low..high (inclusive); with `step` a grid of values, `log` for a log scale."""

    low: float
    high: float
    step: float | None = None
    log: bool = False


class CategoricalParam(
    msgspec.Struct, frozen=True, kw_only=True, tag="categorical", tag_field="type"
):
    """One of `choices`."""

    choices: list[Scalar]


Param = IntParam | FloatParam | CategoricalParam


class Condition(msgspec.Struct, frozen=True, kw_only=True):
    """`left op right`, `right` a parameter name or a number: a combination violating it is
    never evaluated (e.g. {"left": "slow", "op": ">", "right": "fast"})."""

    left: str
    op: Op
    right: str | float


class SearchSpace(msgspec.Struct, frozen=True, kw_only=True):
    """The varied parameters (by name) and the conditions every combination must meet."""

    params: dict[str, Param]
    conditions: list[Condition] = msgspec.field(default_factory=list)

    def names(self) -> list[str]:
        """Varied parameter names, in declaration order."""
        return list(self.params)

    def satisfied(self, values: Mapping[str, Any]) -> bool:
        """Whether `values` (every parameter a condition names) meets every condition."""
        for c in self.conditions:
            right = values[c.right] if isinstance(c.right, str) else c.right
            if not _OPS[c.op](values[c.left], right):
                return False
        return True

    def size(self) -> int | None:
        """Combinations before conditions; None when a float has no step (not enumerable)."""
        total = 1
        for p in self.params.values():
            count = _count(p)
            if count is None:
                return None
            total *= count
        return total

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every combination meeting the conditions, in a stable order."""
        names = self.names()
        columns = [values_of(self.params[n], n) for n in names]
        for combo in product(*columns):
            values = dict(zip(names, combo, strict=True))
            if self.satisfied(values):
                yield values

    def snap(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` moved onto the space's steps and bounds (samplers may drift off them)."""
        return {n: snap_value(self.params[n], values[n]) for n in self.names()}


def _count(p: Param) -> int | None:
    if isinstance(p, CategoricalParam):
        return len(p.choices)
    if isinstance(p, IntParam):
        return (p.high - p.low) // p.step + 1
    if p.step is None:
        return None
    return math.floor((p.high - p.low) / p.step + 1e-9) + 1


def values_of(p: Param, name: str) -> list[Any]:
    """Every value of one parameter; ValidationError for a float without a step."""
    if isinstance(p, CategoricalParam):
        return list(p.choices)
    if isinstance(p, IntParam):
        return list(range(p.low, p.high + 1, p.step))
    count = _count(p)
    if count is None or p.step is None:
        raise ValidationError(
            f"space.{name}: a float range without a step cannot be enumerated in a grid; "
            "give it a step or use method optuna",
            field=f"space.{name}",
        )
    return [round(p.low + i * p.step, 12) for i in range(count)]


def snap_value(p: Param, value: Any) -> Any:
    """The value of `p` nearest to `value`."""
    if isinstance(p, CategoricalParam):
        return value
    low, high = p.low, p.high
    step = p.step
    v = min(max(value, low), high)
    if step:
        v = low + min(round((v - low) / step), (_count(p) or 1) - 1) * step
    if isinstance(p, IntParam):
        return round(v)
    return round(float(v), 12)


def _fail(name: str, message: str) -> ValidationError:
    return ValidationError(f"space.{name}: {message}", field=f"space.{name}")


def _check_range(name: str, p: Param) -> None:
    if isinstance(p, CategoricalParam):
        if not p.choices:
            raise _fail(name, "empty choices")
        return
    if not (math.isfinite(p.low) and math.isfinite(p.high)):
        raise _fail(name, "bounds must be finite numbers")
    if p.low > p.high:
        raise _fail(name, f"inverted range: low {p.low} > high {p.high}")
    if p.step is not None and p.step <= 0:
        raise _fail(name, f"step must be > 0, got {p.step}")
    if p.log and p.low <= 0:
        raise _fail(name, f"a log scale needs low > 0, got {p.low}")
    if p.log and p.step not in (None, 1):
        raise _fail(name, "a log scale cannot have a step")


def check(space: SearchSpace, strategy: Strategy[Any], base: Mapping[str, Any]) -> None:
    """Validate `space` against `strategy` (ValidationError naming `space.<name>`)."""
    known = {f.name: f for f in msgspec.structs.fields(strategy.Params)}
    if not space.params:
        raise ValidationError("space: no parameter to vary", field="space")
    for name, p in space.params.items():
        if name not in known:
            raise _fail(name, f"{strategy.name} has no such parameter; it has {', '.join(known)}")
        _check_range(name, p)
    for c in space.conditions:
        for side in (c.left, c.right):
            if isinstance(side, str) and side not in known:
                raise ValidationError(
                    f"space.conditions: unknown parameter {side!r} in {c.left} {c.op} {c.right}",
                    field="space.conditions",
                )
    try:
        strategy.params({**base, **first_values(space)})
    except ValidationError as exc:
        field = f"space.{exc.field}" if exc.field in space.params else "params"
        raise ValidationError(f"{field}: {exc.detail}", field=field) from None


def first_values(space: SearchSpace) -> dict[str, Any]:
    """A combination meeting the conditions (the first of the grid, or the lows)."""
    if space.size() is not None:
        for values in space.grid():
            return values
        raise ValidationError(
            "space.conditions: no combination meets the conditions", field="space.conditions"
        )
    return {
        n: p.choices[0] if isinstance(p, CategoricalParam) else p.low
        for n, p in space.params.items()
    }


def merge(
    space: SearchSpace,
    overrides: Mapping[str, Param | None],
    conditions: list[Condition] | None = None,
) -> SearchSpace:
    """`space` with parameters replaced or added (`None` removes one) and, when given, new
    conditions; conditions naming a removed parameter are dropped."""
    params: dict[str, Param] = dict(space.params)
    for name, p in overrides.items():
        if p is None:
            params.pop(name, None)
        else:
            params[name] = p
    kept = space.conditions if conditions is None else conditions
    names = set(params)
    kept = [
        c for c in kept if c.left in names and (not isinstance(c.right, str) or c.right in names)
    ]
    return SearchSpace(params=params, conditions=kept)


class StrategySpace(msgspec.Struct, frozen=True, kw_only=True):
    """A strategy's default space, and its stop parameter (risk sizing needs stops)."""

    space: SearchSpace
    stop_param: str | None = None


DEFAULT_SPACES: dict[str, StrategySpace] = {
    "sma_cross": StrategySpace(
        space=SearchSpace(
            params={
                "fast": IntParam(low=5, high=50, step=5),
                "slow": IntParam(low=20, high=200, step=20),
            },
            conditions=[Condition(left="slow", op=">", right="fast")],
        ),
        stop_param="sl_pct",
    ),
    "viper": StrategySpace(
        space=SearchSpace(
            params={
                "threshold": FloatParam(low=70.0, high=95.0, step=2.5),
                "lookback": IntParam(low=10, high=50, step=5),
                "sl_atr": FloatParam(low=0.5, high=3.0, step=0.25),
                "tp_atr": FloatParam(low=1.0, high=6.0, step=0.5),
                "exit_threshold": FloatParam(low=30.0, high=70.0, step=5.0),
            },
            conditions=[Condition(left="exit_threshold", op="<=", right="threshold")],
        ),
        stop_param="sl_atr",
    ),
}


def default_space(strategy: str) -> StrategySpace:
    """The declared default space of `strategy`; ValidationError when it declares none."""
    found = DEFAULT_SPACES.get(strategy)
    if found is None:
        raise ValidationError(
            f"space: {strategy} declares no default search space; pass one", field="space"
        )
    return found


def stops_always_set(chosen: StrategySpace | None, space: SearchSpace, base: Mapping) -> bool:
    """Whether every combination sets a stop (then risk sizing can size every entry)."""
    name = chosen.stop_param if chosen is not None else None
    if name is None:
        return False
    p = space.params.get(name)
    if p is None:
        return bool(base.get(name, 0) or 0)
    if isinstance(p, CategoricalParam):
        return all(bool(v) for v in p.choices)
    return p.low > 0
