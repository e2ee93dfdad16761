"""The master key: VIPER_MASTER_KEY (base64 or hex), else a 0600 key file created on demand."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from viper.config import VaultConfig
from viper.errors import ConfigError
from viper.vault.keys import (
    ENV_VAR,
    MasterKey,
    commit_pending_key,
    load_master_key,
    pending_path,
    read_key_file,
    write_pending_key,
)

RAW = bytes(range(32))


def config(tmp_path: Path) -> VaultConfig:
    return VaultConfig(key_file=str(tmp_path / "keys" / "vault.key"))


@pytest.mark.parametrize(
    "text",
    [
        RAW.hex(),
        RAW.hex().upper(),
        base64.b64encode(RAW).decode(),
        base64.urlsafe_b64encode(RAW).decode().rstrip("="),
        f"  {base64.b64encode(RAW).decode()}\n",
    ],
)
def test_env_key_is_read_as_hex_or_base64(tmp_path: Path, text: str) -> None:
    loaded = load_master_key(config(tmp_path), {ENV_VAR: text})
    assert loaded.source == "env" and loaded.key.reveal() == RAW
    assert not (tmp_path / "keys").exists()  # the key file is not touched


@pytest.mark.parametrize(
    "text",
    ["short", RAW.hex()[:-2], base64.b64encode(RAW[:31]).decode(), "z" * 64, RAW.hex() + "00"],
)
def test_malformed_env_key_is_a_config_error_naming_the_variable(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_master_key(config(tmp_path), {ENV_VAR: text})
    assert info.value.detail.startswith(ENV_VAR)
    assert text not in info.value.detail


def test_missing_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    first = load_master_key(config(tmp_path), {})
    path = tmp_path / "keys" / "vault.key"
    assert first.source == "file" and first.created and first.path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_master_key(config(tmp_path), {ENV_VAR: ""})  # empty variable = unset
    assert again.key == first.key and not again.created


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    load_master_key(config(tmp_path), {})
    path = tmp_path / "keys" / "vault.key"
    path.chmod(mode)
    with pytest.raises(ConfigError) as info:
        load_master_key(config(tmp_path), {})
    assert info.value.detail.startswith("vault.key_file:")
    assert f"{mode:04o}" in info.value.detail and "chmod 600" in info.value.detail


@pytest.mark.parametrize("content", [b"", b"abc\n", RAW, RAW.hex()[:40].encode(), b"\xff" * 44])
def test_key_file_of_the_wrong_length_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "vault.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(ConfigError) as info:
        load_master_key(VaultConfig(key_file=str(path)), {})
    assert info.value.detail.startswith("vault.key_file:")
    assert "32-byte key" in info.value.detail


def test_master_key_never_shows_in_a_repr() -> None:
    key = MasterKey(RAW)
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert RAW.hex() not in text and key.encoded() not in text
    assert key == MasterKey(RAW) and key != MasterKey.generate()


def test_pending_key_replaces_the_key_file_atomically(tmp_path: Path) -> None:
    loaded = load_master_key(config(tmp_path), {})
    assert loaded.path is not None
    new = MasterKey.generate()
    write_pending_key(loaded.path, new)
    assert stat.S_IMODE(pending_path(loaded.path).stat().st_mode) == 0o600
    assert read_key_file(loaded.path) == loaded.key
    commit_pending_key(loaded.path)
    assert read_key_file(loaded.path) == new
    assert not pending_path(loaded.path).exists()
    assert stat.S_IMODE(loaded.path.stat().st_mode) == 0o600
