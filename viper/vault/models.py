"""What the vault says about what it holds (never a value), and the checks on what it is given."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from msgspec import Meta

from viper.errors import ValidationError
from viper.protocols import TokenInfo

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
KIND_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
MAX_VALUE_CHARS = 16_384
MAX_DESCRIPTION_CHARS = 200
_NAME = re.compile(NAME_PATTERN)
_KIND = re.compile(KIND_PATTERN)

SecretName = Annotated[str, Meta(pattern=NAME_PATTERN, description="e.g. bitget.api_key")]
SecretKind = Annotated[str, Meta(pattern=KIND_PATTERN, description="exchange, alert, generic...")]
SecretValue = Annotated[str, Meta(min_length=1, max_length=MAX_VALUE_CHARS)]
Description = Annotated[str, Meta(max_length=MAX_DESCRIPTION_CHARS)]


class SecretMeta(msgspec.Struct, frozen=True, kw_only=True):
    """The metadata column of a secret: what it is for, never any part of its value."""

    kind: str = "generic"
    description: str = ""


class SecretInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A stored secret as listed: name, version, metadata and times; never the value."""

    name: str
    version: int
    kind: str
    description: str
    created_ms: int
    rotated_ms: int | None = None


class IssuedToken(TokenInfo, frozen=True, kw_only=True):
    """A token just issued: the only time the token itself is ever shown."""

    token: str

    def __repr__(self) -> str:
        return f"IssuedToken(id={self.id!r}, name={self.name!r}, token='***')"

    __str__ = __repr__


def check_name(name: str, field: str = "name") -> str:
    """`name` when it fits NAME_PATTERN, else a ValidationError naming `field`."""
    if not _NAME.match(name):
        raise ValidationError(
            f"{field}: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field=field,
        )
    return name


def check_value(value: str, field: str = "value") -> str:
    """`value` when it is a usable secret; the error never repeats any of it."""
    if not value or not value.strip():
        raise ValidationError(f"{field}: must not be empty", field=field)
    if len(value) > MAX_VALUE_CHARS:
        raise ValidationError(f"{field}: at most {MAX_VALUE_CHARS} characters", field=field)
    if "\x00" in value:
        raise ValidationError(f"{field}: must not contain NUL characters", field=field)
    return value


def check_meta(kind: str, description: str) -> SecretMeta:
    """Validated metadata."""
    if not _KIND.match(kind):
        raise ValidationError("kind: 1-32 lowercase letters, digits, '_' or '-'", field="kind")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise ValidationError(
            f"description: at most {MAX_DESCRIPTION_CHARS} characters", field="description"
        )
    return SecretMeta(kind=kind, description=description)
