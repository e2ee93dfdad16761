"""Study storage URLs: which kinds exist, checked without loading optuna (request validation)."""

from __future__ import annotations

from urllib.parse import urlsplit

from viper.errors import ValidationError

RDB_SCHEMES = ("postgresql", "postgres", "mysql", "sqlite")


def scheme_of(url: str) -> str:
    """The URL's scheme without a driver suffix ("postgresql+psycopg" -> "postgresql")."""
    return urlsplit(url).scheme.split("+", 1)[0].lower()


def check_url(url: str, field: str = "storage") -> None:
    """ValidationError naming `field` when `url` is no storage URL VIPER knows."""
    scheme = scheme_of(url)
    if scheme not in (*RDB_SCHEMES, "redis", "rediss", "journal"):
        raise ValidationError(
            f"{field}: unknown storage {scheme or url!r}; use postgresql://, redis://, "
            "journal:///path or sqlite:///path",
            field=field,
        )
