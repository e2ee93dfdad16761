"""The web module: the dashboard page and its files, its live feed, and recent candles.

It reads every other module through their HTTP routes (from the browser) and the bus; it
imports none of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

from starlette.routing import BaseRoute

from viper.bus import EventBus, Subscription
from viper.clock import Clock
from viper.errors import TemporaryError
from viper.events import CandleClosed
from viper.http import encode
from viper.modules.base import Health, ModuleContext
from viper.modules.web.feed import EVENT_NAMES, DashboardFeed, FrameCache
from viper.modules.web.history import CandleHistory, CandleSeries
from viper.modules.web.routes import STATIC, VENDOR_FILE, routes

HEARTBEAT_SECONDS = 15.0
CLIENT_BACKLOG = 512  # frames one dashboard may fall behind by before its oldest are dropped
MAX_CLIENTS = 1000  # live feeds open at once; more answer 503
HISTORY_BARS = 500  # closed bars kept per symbol and timeframe for the chart


class WebModule:
    """Serves the dashboard at `/`, its files at `/static`, `/web/events` and `/web/candles`."""

    name = "web"
    requires: tuple[str, ...] = ("api",)

    def __init__(self, static: Path = STATIC, max_clients: int = MAX_CLIENTS) -> None:
        self.static = static  # where the page's files are checked for (health)
        self.max_clients = max_clients
        self.heartbeat_seconds = HEARTBEAT_SECONDS
        self._bus: EventBus | None = None
        self._clock: Clock | None = None
        self._candles_sub: Subscription | None = None
        self._cache = FrameCache()
        self._history = CandleHistory(HISTORY_BARS)
        self._feeds: set[DashboardFeed] = set()
        self._feed_ids = itertools.count(1)
        self._lost_closed = 0  # events missed by feeds already closed
        self._vendored = False  # the chart library was found (it stays: checked until then)

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        self._bus = ctx.bus
        self._clock = ctx.clock
        self._candles_sub = ctx.bus.subscribe(
            CandleClosed, self._on_candle, name="web.candles", overflow="drop_oldest"
        )
        if not self.vendored:
            ctx.logger.warning(
                "the dashboard's chart library is missing ({}): run `make` to vendor it",
                VENDOR_FILE,
            )

    async def _on_candle(self, event: CandleClosed) -> None:
        self._history.record(event.symbol, event.timeframe, event.candle)

    async def stop(self) -> None:
        """End every live feed and drop the candle subscription; safe twice."""
        for feed in list(self._feeds):
            feed.close()
        if self._bus is not None and self._candles_sub is not None:
            self._bus.unsubscribe(self._candles_sub)
        self._candles_sub = None
        self._bus = None

    def health(self) -> Health:
        checks = {"clients": len(self._feeds), "lost": self.lost}
        if not self.vendored:
            detail = f"chart library missing: static/{VENDOR_FILE}; run `make` to vendor it"
            return Health(status="degraded", detail=detail, checks=checks)
        return Health(status="ok", checks=checks)

    @property
    def vendored(self) -> bool:
        """The chart library is in the package (looked for on disk until it is found)."""
        if not self._vendored:
            self._vendored = (self.static / VENDOR_FILE).is_file()
        return self._vendored

    @property
    def lost(self) -> int:
        """Events dashboards missed (slow clients), over every feed since start."""
        return self._lost_closed + sum(f.lost for f in self._feeds)

    def check_capacity(self) -> None:
        """A 503 when the module is stopped or `MAX_CLIENTS` feeds are open."""
        if self._bus is None:
            raise TemporaryError("the dashboard feed is not running", module=self.name)
        if len(self._feeds) >= self.max_clients:
            raise TemporaryError(f"too many dashboard feeds open (at most {self.max_clients})")

    def open_feed(self) -> DashboardFeed:
        """A live feed for one dashboard, opening with a `hello` frame."""
        if self._bus is None or self._clock is None:
            raise TemporaryError("the dashboard feed is not running", module=self.name)
        hello = {
            "ts_ms": self._clock.now_ms(),
            "clients": len(self._feeds) + 1,
            "events": sorted(EVENT_NAMES.values()),
        }
        feed = DashboardFeed(
            self._bus,
            self._cache,
            name=f"web.feed.{next(self._feed_ids)}",
            backlog=CLIENT_BACKLOG,
            hello=b"event: hello\ndata: %s\n\n" % encode(hello),
            on_close=self._closed,
        )
        self._feeds.add(feed)
        return feed

    def _closed(self, feed: DashboardFeed) -> None:
        if feed in self._feeds:
            self._feeds.discard(feed)
            self._lost_closed += feed.lost

    def candles(self, symbol: str, timeframe: str | None, limit: int) -> CandleSeries:
        """Recent closed bars of one symbol, oldest first."""
        return self._history.recent(symbol, timeframe, limit)
