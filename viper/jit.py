"""One definition, two runtimes: rules and steps that run as plain Python or compiled by numba.

The live process (risk gate, live engine, signal scoring) calls these functions as plain
Python and never loads numba, which costs about 130 MB and 0.2 s at start. The backtester,
the optimizer and the batch scorer run in their own processes and compile the very same
functions with `compiled` / `compile_namespace`, so live and backtest share one definition of
every rule. numba without fastmath evaluates IEEE doubles in Python's order, and
`tests/unit/test_jit.py` checks that both runtimes return identical numbers.

A kernel must be valid Python and valid numba: scalars, tuples, `math`, NumPy arrays or
Python lists for state (`len(state)`, indexing), and no division that Python would refuse
(numba with `error_model="numpy"` would return inf where Python raises).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = "__viper_njit__"
_dispatchers: dict[Callable[..., Any], Any] = {}
_shadows: dict[str, types.ModuleType] = {}
_filled: set[str] = set()


def kernel(**options: Any) -> Callable[[F], F]:
    """Mark a function as a kernel; `options` go to `numba.njit` (always with `cache=True`)."""

    def mark(fn: F) -> F:
        setattr(fn, _OPTIONS, {"cache": True, **options})
        return fn

    return mark


def is_kernel(value: object) -> bool:
    """Whether `value` is a plain function marked with `kernel`."""
    return isinstance(value, types.FunctionType) and hasattr(value, _OPTIONS)


def compiled(fn: F) -> F:
    """The numba dispatcher of kernel `fn` (one per function; numba loads on first use).

    The dispatcher compiles a copy of `fn` whose globals are a compiled shadow of its module:
    the kernels it calls resolve to their dispatchers there, while the module itself keeps
    its plain-Python functions for the callers that run them as Python.
    """
    dispatcher = _dispatchers.get(fn)
    if dispatcher is None:
        if not is_kernel(fn):
            raise TypeError(f"{getattr(fn, '__qualname__', fn)!r} is not marked with @kernel")
        import numba

        shadow = _shadow(fn.__globals__)
        copy = types.FunctionType(fn.__code__, vars(shadow), fn.__name__, fn.__defaults__)
        copy.__qualname__ = fn.__qualname__
        copy.__doc__ = fn.__doc__
        dispatcher = _dispatchers[fn] = numba.njit(**getattr(fn, _OPTIONS))(copy)
        _fill(shadow)
    return dispatcher


def _shadow(namespace: dict[str, Any]) -> types.ModuleType:
    """The compiled shadow of the module whose globals are `namespace` (made once)."""
    name = namespace["__name__"]
    shadow = _shadows.get(name)
    if shadow is None:
        shadow = _shadows[name] = types.ModuleType(name)
        vars(shadow).update(namespace)
    return shadow


def _fill(shadow: types.ModuleType) -> None:
    if shadow.__name__ not in _filled:
        _filled.add(shadow.__name__)
        compile_namespace(vars(shadow))


def compile_namespace(namespace: dict[str, Any]) -> None:
    """Replace, in `namespace`, every kernel by its dispatcher and every viper module that holds
    kernels by its compiled shadow, so that numba resolves calls such as `fee(...)` or
    `rr.position_size(...)` to compiled code. A module of numba-only code calls it on its own
    globals: `compile_namespace(globals())`. Idempotent."""
    for name, value in list(namespace.items()):
        if is_kernel(value):
            namespace[name] = compiled(value)
        elif (
            isinstance(value, types.ModuleType)
            and value.__name__.startswith("viper.")
            and any(is_kernel(v) for v in vars(value).values())
        ):
            shadow = namespace[name] = _shadow(vars(value))
            _fill(shadow)
