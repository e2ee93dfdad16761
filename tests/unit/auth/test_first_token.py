"""The first start issues one admin token and shows it once on the console; later starts not."""

from __future__ import annotations

import io
import re
from pathlib import Path

from tests.conftest import make_config
from tests.unit.auth.conftest import client
from viper.app import ViperApp

TOKEN = re.compile(r"vpr_[A-Za-z0-9_-]{43}")


async def test_the_first_start_shows_one_admin_token_and_later_starts_none(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, auth={"enabled": True})
    first, second = io.StringIO(), io.StringIO()
    app = ViperApp(config, console=first)
    async with app.running():
        tokens = TOKEN.findall(first.getvalue())
        assert len(tokens) == 1
        assert "shown here ONCE" in first.getvalue()
        async with client(app, tokens[0]) as http:
            me = (await http.get("/auth/me")).json()
        assert me["scopes"] == ["admin"] and me["name"] == "admin (first start)"
    again = ViperApp(config, console=second)
    async with again.running():
        pass
    assert second.getvalue() == ""
    stored = await _hashes(tmp_path)
    assert tokens[0].encode() not in b"".join(stored)


async def test_no_token_is_issued_while_auth_is_off(tmp_path: Path) -> None:
    console = io.StringIO()
    app = ViperApp(make_config(tmp_path), console=console)
    async with app.running():
        assert await app.store.execute("SELECT count(*) FROM vault_tokens") == [(0,)]
    assert console.getvalue() == ""


async def test_a_start_after_every_token_was_revoked_issues_a_new_one(tmp_path: Path) -> None:
    config = make_config(tmp_path, auth={"enabled": True})
    app = ViperApp(config, console=io.StringIO())
    async with app.running():
        await app.store.execute("UPDATE vault_tokens SET revoked_ms = 1")
    console = io.StringIO()
    async with ViperApp(config, console=console).running():
        pass
    assert len(TOKEN.findall(console.getvalue())) == 1


async def _hashes(tmp_path: Path) -> list[bytes]:
    app = ViperApp(make_config(tmp_path, modules={"enabled": ["api"]}))
    async with app.running():
        rows = await app.store.execute("SELECT hash FROM vault_tokens")
    return [bytes(r[0]) for r in rows]
