"""Per-key locks: one holder per key at a time, keys independent, nothing kept once free."""

from __future__ import annotations

import asyncio

import pytest

from viper.modules.order.locks import KeyedLocks


async def test_one_holder_per_key_and_keys_do_not_wait_for_each_other() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with locks.hold("a"):
            order.append("a1 in")
            await release.wait()
            order.append("a1 out")

    async def second() -> None:
        async with locks.hold("a"):
            order.append("a2 in")

    async def other() -> None:
        async with locks.hold("b"):
            order.append("b in")

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await asyncio.sleep(0)
    await other()  # "a" is held: "b" goes ahead anyway
    assert locks.busy("a") and not locks.busy("b") and len(locks) == 1
    release.set()
    await asyncio.gather(*tasks)

    assert order == ["a1 in", "b in", "a1 out", "a2 in"]
    assert len(locks) == 0


async def test_a_waiter_cancelled_or_a_body_that_raises_leaves_nothing_behind() -> None:
    locks = KeyedLocks()
    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("k"):
            held.set()
            await release.wait()

    async def waiter() -> None:
        async with locks.hold("k"):
            raise AssertionError("never reached")

    holding = asyncio.create_task(holder())
    await held.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    release.set()
    await holding
    assert len(locks) == 0

    with pytest.raises(ValueError, match="boom"):
        async with locks.hold("k"):
            raise ValueError("boom")
    assert not locks.busy("k")
    async with locks.hold("k"):  # free again
        assert locks.busy("k")
