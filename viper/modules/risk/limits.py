"""Changing risk limits at run time, validated by the very constraints of `RiskConfig`.

A change is a partial mapping of `[risk]` keys; the merged result must be a valid `RiskConfig`
(the same `Meta` bounds as the config file), else a ValidationError names the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from viper.config import RiskConfig
from viper.errors import ValidationError

_AT_FIELD = re.compile(r"at `\$\.([A-Za-z_][A-Za-z0-9_]*)")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
Changes = dict[str, tuple[Any, Any]]


def limits_dict(limits: RiskConfig) -> dict[str, Any]:
    """The limits as plain values."""
    values: dict[str, Any] = msgspec.to_builtins(limits)
    return values


def apply_changes(current: RiskConfig, changes: Mapping[str, Any]) -> tuple[RiskConfig, Changes]:
    """The limits after `changes`, and each changed key with its (old, new) value."""
    if not changes:
        raise ValidationError("limits: give at least one limit to change", field="limits")
    old = limits_dict(current)
    try:
        updated = msgspec.convert({**old, **dict(changes)}, RiskConfig)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _UNKNOWN.search(text) or _AT_FIELD.search(text)
        name = match.group(1) if match else "limits"
        detail = text.split(" - at ")[0]
        if detail.startswith("Object contains unknown field"):
            detail = f"unknown limit; known: {', '.join(sorted(old))}"
        raise ValidationError(f"{name}: {detail}", field=name) from None
    new = limits_dict(updated)
    diff = {key: (old[key], new[key]) for key in new if new[key] != old[key]}
    return updated, diff
