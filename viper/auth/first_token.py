"""The first start: with authentication on and no active token in the vault, an admin token is
issued and shown once on the console (stderr), never through the log sinks.

The vault keeps only its keyed hash, so this frame is the one place it can be read.
"""

from __future__ import annotations

from typing import Protocol, TextIO

from viper.vault.models import IssuedToken

FIRST_TOKEN_NAME = "admin (first start)"
_RULE = "=" * 78


class TokenBootstrap(Protocol):
    """Issues the first admin token (provided by the vault module)."""

    async def first_admin_token(self) -> IssuedToken | None:
        """An admin token issued now when the vault holds no active token; else None."""
        ...


def show_first_token(issued: IssuedToken, console: TextIO) -> None:
    """Write the new token to `console` in a frame that says how to use it."""
    lines = [
        "",
        _RULE,
        "  VIPER first start: the vault held no API token, so an admin token was issued.",
        "  It is shown here ONCE and stored only as a hash; keep it somewhere safe:",
        "",
        f"      {issued.token}",
        "",
        f"  Token id {issued.id}, scopes {', '.join(issued.scopes)}, no expiry. Use it as",
        "      curl -H 'Authorization: Bearer <token>' http://127.0.0.1:8000/api/portfolio",
        "  or paste it into the dashboard's sign-in. Issue narrower tokens with",
        "      viper vault token issue --name grafana --scopes read",
        "  and revoke this one (viper vault token revoke ID) if it ever leaks.",
        _RULE,
        "",
    ]
    console.write("\n".join(lines) + "\n")
    console.flush()
