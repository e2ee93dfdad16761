"""The vault's 256-bit master key: from `VIPER_MASTER_KEY`, or else from `[vault] key_file`.

The key file holds the key as base64 text; it is created 0600 when missing and refused when
anyone but its owner may read it. Master-key rotation writes the next key beside it
(`<key_file>.new`) and moves it into place atomically once the database is re-encrypted.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from viper.config import VaultConfig
from viper.errors import ConfigError

ENV_VAR = "VIPER_MASTER_KEY"
KEY_BYTES = 32
KeySourceKind = Literal["env", "file"]
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
_BASE64_KEY = re.compile(r"^[A-Za-z0-9+/_-]{43}=?$")


class MasterKey:
    """32 key bytes that never show in a repr."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise ValueError(f"a master key is {KEY_BYTES} bytes")
        self._raw = raw

    @classmethod
    def generate(cls) -> MasterKey:
        """A fresh random key."""
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def parse(cls, text: str) -> MasterKey | None:
        """A key from 64 hex digits or 44 base64 characters (standard or url-safe), else None."""
        text = text.strip()
        if _HEX_KEY.match(text):
            return cls(bytes.fromhex(text))
        if not _BASE64_KEY.match(text):
            return None
        try:
            raw = base64.urlsafe_b64decode(
                text.replace("+", "-").replace("/", "_").rstrip("=") + "="
            )
        except (binascii.Error, ValueError):
            return None
        return cls(raw) if len(raw) == KEY_BYTES else None

    def reveal(self) -> bytes:
        """The raw key, for the cipher."""
        return self._raw

    def encoded(self) -> str:
        """The key as standard base64 (the key file's format and VIPER_MASTER_KEY's)."""
        return base64.b64encode(self._raw).decode("ascii")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MasterKey) and hmac.compare_digest(self._raw, other._raw)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "MasterKey('***')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class LoadedKey:
    """The master key, where it came from, and whether this start created its file."""

    key: MasterKey
    source: KeySourceKind
    path: Path | None = None
    created: bool = False

    def describe(self) -> str:
        """The setting that holds the key, for error messages."""
        return ENV_VAR if self.source == "env" else f"vault.key_file ({self.path})"


def load_master_key(vault: VaultConfig, environ: Mapping[str, str]) -> LoadedKey:
    """The key from VIPER_MASTER_KEY when set, else from the key file (created when missing)."""
    text = environ.get(ENV_VAR, "")
    if text.strip():
        key = MasterKey.parse(text)
        if key is None:
            raise ConfigError(
                f"{ENV_VAR}: expected a 32-byte key as base64 (44 characters) or hex "
                "(64 characters); generate one with `openssl rand -base64 32`"
            )
        return LoadedKey(key, "env")
    if not vault.key_file:
        raise ConfigError(f"vault.key_file: empty and {ENV_VAR} is unset: the vault has no key")
    path = Path(vault.key_file)
    if path.exists():
        return LoadedKey(read_key_file(path), "file", path)
    created = create_key_file(path)
    if created is None:  # another process created it first: use theirs
        return LoadedKey(read_key_file(path), "file", path)
    return LoadedKey(created, "file", path, created=True)


def read_key_file(path: Path) -> MasterKey:
    """The key in `path`; a ConfigError naming vault.key_file when it is exposed or malformed."""
    check_private(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"vault.key_file: cannot read {path}: {exc.strerror}") from None
    try:
        key = MasterKey.parse(data.decode("ascii"))
    except UnicodeDecodeError:
        key = None
    if key is None:
        raise ConfigError(
            f"vault.key_file: {path} must hold one 32-byte key as base64 or hex "
            f"({len(data)} bytes found)"
        )
    return key


def check_private(path: Path) -> None:
    """Refuse a key file that is not a regular file readable by its owner alone."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"vault.key_file: cannot read {path}: {exc.strerror}") from None
    if not path.is_file():
        raise ConfigError(f"vault.key_file: {path} is not a regular file")
    mode = info.st_mode & 0o777
    if os.name != "nt" and mode & 0o077:
        raise ConfigError(
            f"vault.key_file: {path} has permissions {mode:04o}; it must be 0600 "
            f"(run `chmod 600 {path}`)"
        )


def create_key_file(path: Path) -> MasterKey | None:
    """Write a fresh key to `path` (0600) unless it exists by then; None when it did."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = MasterKey.generate()
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _write_private(temp, key)
    try:
        os.link(temp, path)  # never replaces a key another process wrote meanwhile
    except FileExistsError:
        return None
    finally:
        temp.unlink(missing_ok=True)
    _sync_dir(path.parent)
    return key


def pending_path(path: Path) -> Path:
    """Where master-key rotation puts the next key until the database is re-encrypted."""
    return path.with_name(path.name + ".new")


def write_pending_key(path: Path, key: MasterKey) -> None:
    """Write `key` (0600) beside the key file, to be committed after re-encryption."""
    _write_private(pending_path(path), key)
    _sync_dir(path.parent)


def read_pending_key(path: Path) -> MasterKey | None:
    """The next key left by an interrupted rotation, if any."""
    pending = pending_path(path)
    return read_key_file(pending) if pending.exists() else None


def commit_pending_key(path: Path) -> None:
    """Atomically replace the key file with the pending key."""
    os.replace(pending_path(path), path)
    _sync_dir(path.parent)


def discard_pending_key(path: Path) -> None:
    """Forget the pending key of a rotation that did not happen."""
    pending_path(path).unlink(missing_ok=True)


def _write_private(path: Path, key: MasterKey) -> None:
    path.unlink(missing_ok=True)  # O_CREAT keeps an old file's mode: start from nothing
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (key.encoded() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(folder: Path) -> None:
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
