"""Client order ids: deterministic, distinct, and within Bitget's clientOid rules."""

from __future__ import annotations

import re

from viper.modules.order.ids import (
    derive_client_order_id,
    is_valid_client_order_id,
    reprice_client_order_id,
)


def test_same_intent_purpose_and_attempt_give_the_same_id() -> None:
    assert derive_client_order_id("i-1", "entry", 0) == derive_client_order_id("i-1", "entry", 0)


def test_any_difference_gives_another_id() -> None:
    ids = {
        derive_client_order_id("i-1", "entry", 0),
        derive_client_order_id("i-1", "entry", 1),
        derive_client_order_id("i-1", "exit", 0),
        derive_client_order_id("i-2", "entry", 0),
        reprice_client_order_id(derive_client_order_id("i-1", "entry", 0), 1),
    }
    assert len(ids) == 5


def test_ids_are_short_and_plain() -> None:
    cid = derive_client_order_id("x" * 500, "entry", 7)
    assert re.fullmatch(r"vpr[0-9a-f]{20}", cid)
    assert is_valid_client_order_id(cid)
    assert is_valid_client_order_id(reprice_client_order_id(cid, 3))


def test_rejects_ids_an_exchange_would_refuse() -> None:
    assert not is_valid_client_order_id("")
    assert not is_valid_client_order_id("a" * 51)
    assert not is_valid_client_order_id("has space")
