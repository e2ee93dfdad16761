"""AES-256-GCM for the vault: a fresh random 96-bit nonce per value, and associated data
that binds each ciphertext to what it is (a secret's name and version, the key check, the
token pepper), so a row copied onto another fails to decrypt.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from viper.errors import ConfigError
from viper.vault.keys import MasterKey

NONCE_BYTES = 12
# A known plaintext sealed under the master key: proves a key opens this vault before any use.
KEY_CHECK = b"viper vault key check v1"
KEY_CHECK_AAD = b"viper.vault/key-check"
PEPPER_AAD = b"viper.vault/token-pepper"


class VaultKeyError(ConfigError):
    """The master key does not open this vault (it was sealed under another key)."""

    code = "vault_key_mismatch"


class SecretUnreadableError(ConfigError):
    """A stored secret fails authentication: the row was altered, swapped or damaged."""

    code = "secret_unreadable"


class SealError(Exception):
    """Decryption failed: wrong key, or altered ciphertext, nonce or associated data."""


def secret_aad(name: str, version: int) -> bytes:
    """Associated data of one version of one secret."""
    return b"viper.vault/secret\x00" + name.encode() + b"\x00" + str(version).encode()


def seal(key: MasterKey, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """`(nonce, ciphertext)` of `plaintext` under `key`, authenticated with `aad`."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce, AESGCM(key.reveal()).encrypt(nonce, plaintext, aad)


def unseal(key: MasterKey, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """The plaintext; SealError when the key, nonce, ciphertext or `aad` does not match."""
    if len(nonce) != NONCE_BYTES:
        raise SealError("bad nonce length")
    try:
        return AESGCM(key.reveal()).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise SealError("authentication failed") from None


def opens(key: MasterKey, nonce: bytes, ciphertext: bytes) -> bool:
    """True when `key` opens the stored key check."""
    try:
        return unseal(key, nonce, ciphertext, KEY_CHECK_AAD) == KEY_CHECK
    except SealError:
        return False
