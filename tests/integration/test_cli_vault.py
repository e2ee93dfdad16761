"""`viper vault ...` through `viper.cli.main`: values from stdin or a hidden prompt, never argv;
exit code 2 with one line for bad input."""

from __future__ import annotations

import asyncio
import getpass
import io
import sys
from pathlib import Path

import pytest

from viper.cli import main
from viper.clock import LiveClock
from viper.config import load_config
from viper.store.sqlite import Database
from viper.vault.crypto import VaultKeyError
from viper.vault.keys import ENV_VAR, LoadedKey, MasterKey, load_master_key, read_key_file
from viper.vault.store import SecretVault
from viper.vault.tokens import TokenStore

VALUE = "cli-secret-R2d2C3po"


@pytest.fixture
def cfg(tmp_path: Path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[store]\ndatabase = "{tmp_path / "viper.db"}"\n'
        f'[vault]\nkey_file = "{tmp_path / "vault.key"}"\n'
        '[logging]\nfile = ""\nconsole = false\n'
    )
    return str(path)


def vault(
    cfg: str, *argv: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None
) -> int:
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["vault", *argv, "--config", cfg])


def read_back(cfg: str, name: str, key: MasterKey | None = None) -> str | None:
    config = load_config(cfg, {})

    async def run() -> str | None:
        db = Database(config.store.database)
        await db.open()
        try:
            loaded = LoadedKey(key, "env") if key else load_master_key(config.vault, {})
            return await (await SecretVault.open(db, loaded, LiveClock())).get(name)
        finally:
            await db.close()

    return asyncio.run(run())


def test_set_from_stdin_then_list_rotate_and_delete(
    cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        vault(
            cfg,
            "set",
            "bitget.api_key",
            "--value-stdin",
            "--kind",
            "exchange",
            stdin=VALUE + "\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    assert read_back(cfg, "bitget.api_key") == VALUE
    assert vault(cfg, "list") == 0
    assert (
        vault(
            cfg,
            "rotate",
            "bitget.api_key",
            "--value-stdin",
            stdin=VALUE + "-2",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    assert read_back(cfg, "bitget.api_key") == VALUE + "-2"
    assert vault(cfg, "delete", "bitget.api_key") == 0
    assert read_back(cfg, "bitget.api_key") is None
    out = capsys.readouterr()
    assert "stored bitget.api_key (version 1)" in out.out
    assert "bitget.api_key" in out.out and "exchange" in out.out
    assert "rotated bitget.api_key to version 2" in out.out and "deleted bitget.api_key" in out.out
    assert VALUE not in out.out + out.err


def test_set_asks_a_hidden_prompt_by_default(
    cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:  # a terminal cannot be driven from a test
        prompts.append(prompt)
        return VALUE

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    assert vault(cfg, "set", "telegram.token") == 0
    assert prompts == ["value of telegram.token (hidden): "]
    assert read_back(cfg, "telegram.token") == VALUE
    assert VALUE not in capsys.readouterr().out


def test_a_value_on_the_command_line_is_refused(cfg: str) -> None:
    with pytest.raises(SystemExit) as info:
        vault(cfg, "set", "x.y", "--value", VALUE)
    assert info.value.code == 2


@pytest.mark.parametrize(
    ("argv", "stdin", "expected"),
    [
        (["set", "bad name", "--value-stdin"], VALUE, "name:"),
        (["set", "ok", "--value-stdin"], "\n", "value: must not be empty"),
        (["rotate", "missing", "--value-stdin"], VALUE, "no secret named 'missing'"),
        (["delete", "missing"], None, "no secret named 'missing'"),
        (["token", "issue", "--name", "x", "--scopes", "read,root"], None, "scopes:"),
        (["token", "revoke", "nope"], None, "no token with id 'nope'"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    cfg: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str | None,
    expected: str,
) -> None:
    assert vault(cfg, *argv, stdin=stdin, monkeypatch=monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("viper: ") and expected in err
    assert VALUE not in err


def test_rotate_master_with_a_key_file(
    cfg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    vault(cfg, "set", "a.b", "--value-stdin", stdin=VALUE, monkeypatch=monkeypatch)
    old = read_key_file(tmp_path / "vault.key")
    assert vault(cfg, "rotate-master") == 0
    new = read_key_file(tmp_path / "vault.key")
    assert new != old
    assert read_back(cfg, "a.b") == VALUE == read_back(cfg, "a.b", new)
    with pytest.raises(VaultKeyError):
        read_back(cfg, "a.b", old)
    assert "re-encrypted 1 secrets" in capsys.readouterr().out


def test_rotate_master_with_the_env_key_needs_the_new_key_on_stdin(
    cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    monkeypatch.setenv(ENV_VAR, old.encoded())
    vault(cfg, "set", "a.b", "--value-stdin", stdin=VALUE, monkeypatch=monkeypatch)
    assert vault(cfg, "rotate-master") == 2
    assert "--new-key-stdin" in capsys.readouterr().err
    assert (
        vault(
            cfg,
            "rotate-master",
            "--new-key-stdin",
            stdin=new.reveal().hex(),
            monkeypatch=monkeypatch,
        )
        == 0
    )
    assert f"set {ENV_VAR} to the new key" in capsys.readouterr().out
    assert vault(cfg, "list") == 2  # the old key no longer opens the vault
    assert ENV_VAR in capsys.readouterr().err
    monkeypatch.setenv(ENV_VAR, new.encoded())
    assert read_back(cfg, "a.b", new) == VALUE


def test_tokens_issue_list_revoke(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        vault(
            cfg,
            "token",
            "issue",
            "--name",
            "ci",
            "--scopes",
            "read,trade",
            "--expires-in-days",
            "7",
        )
        == 0
    )
    issued = capsys.readouterr()
    token = issued.out.strip()
    assert token.startswith("vpr_") and "shown once" in issued.err
    config = load_config(cfg, {})

    async def verify() -> str:
        db = Database(config.store.database)
        await db.open()
        try:
            opened = await SecretVault.open(db, load_master_key(config.vault, {}), LiveClock())
            return (await TokenStore(db, opened.pepper, LiveClock()).verify(token)).id
        finally:
            await db.close()

    token_id = asyncio.run(verify())
    assert vault(cfg, "token", "list") == 0
    listed = capsys.readouterr().out
    assert token_id in listed and "read,trade" in listed and token not in listed
    assert vault(cfg, "token", "revoke", token_id) == 0
    assert vault(cfg, "token", "list") == 0
    assert "revoked" in capsys.readouterr().out
