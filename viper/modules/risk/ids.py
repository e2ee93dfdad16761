"""Deterministic client order ids: the same intent always maps to the same order id.

The order module dedupes on the id, so an intent handled twice (a retry, a restart replaying
a bar) never places two orders. Same scheme as the order journal's own ids: "vpr" and 20 hex
characters of a SHA-256, inside Bitget's clientOid rules.
"""

from __future__ import annotations

import hashlib

PREFIX = "vpr"
HEX_CHARS = 20


def client_order_id(intent_id: str, purpose: str, attempt: int = 0) -> str:
    """The id of attempt `attempt` of `intent_id` for `purpose` ("entry", "exit", "flatten")."""
    text = "\x1f".join(("intent", intent_id, purpose, str(attempt)))
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()[:HEX_CHARS]
