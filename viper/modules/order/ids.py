"""Deterministic client order ids: the same request always maps to the same id.

Ids are "vpr" and 20 hex characters of a SHA-256: 23 characters of [a-z0-9], well inside
Bitget's clientOid rules (at most 50 characters of letters, digits, '_' and '-').
"""

from __future__ import annotations

import hashlib
import re

PREFIX = "vpr"
HEX_CHARS = 20
MAX_LENGTH = 50
_VALID = re.compile(rf"^[A-Za-z0-9_\-.:]{{1,{MAX_LENGTH}}}$")


def _digest(*parts: str) -> str:
    text = "\x1f".join(parts)
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()[:HEX_CHARS]


def derive_client_order_id(intent_id: str, purpose: str, attempt: int = 0) -> str:
    """The id of attempt `attempt` of `intent_id` for `purpose` ("entry", "exit", ...)."""
    return _digest("intent", intent_id, purpose, str(attempt))


def reprice_client_order_id(original: str, reprice: int) -> str:
    """The id of the `reprice`-th replacement of the order first sent as `original`."""
    return _digest("reprice", original, str(reprice))


def is_valid_client_order_id(value: str) -> bool:
    """True when an exchange accepts `value` as a client order id."""
    return bool(_VALID.match(value))
