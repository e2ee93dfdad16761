"""Waits for the risk manager's answer to a `TradeIntent`: its `OrderRequest` or `TradeRejected`.

The module feeds every answer seen on the bus to `on_answer`; a caller that published an
intent waits on the future `expect` gave it, for as long as it chooses.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from viper.events import OrderRequest, TradeRejected

Answer = OrderRequest | TradeRejected


class IntentWaiter:
    """Futures of intents awaiting an answer, by intent id."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[Answer]] = {}

    async def on_answer(self, event: Answer) -> None:
        """Resolve the intent this answer is for, if someone waits on it."""
        future = self._waiting.get(event.intent_id) if event.intent_id else None
        if future is not None and not future.done():
            future.set_result(event)

    @contextlib.contextmanager
    def expect(self, intent_id: str) -> Iterator[asyncio.Future[Answer]]:
        """A future of `intent_id`'s answer, registered before the intent is published."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[intent_id] = future
        try:
            yield future
        finally:
            if self._waiting.get(intent_id) is future:
                del self._waiting[intent_id]
            future.cancel()

    @property
    def waiting(self) -> int:
        return len(self._waiting)
