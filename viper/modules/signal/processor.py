"""The signal processor's logic: score closed candles, remember scores and signals, query them.

It knows nothing of the bus or HTTP: `process` turns a `CandleClosed` into the events to
publish, and the query methods answer the routes. Bounded: a fixed history per series and a
fixed number of recent signals.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from viper.domain import Direction, Signal
from viper.errors import NotFoundError, ValidationError
from viper.events import CandleClosed, ScoreComputed, SignalGenerated
from viper.modules.signal.views import ScoresPage, ScoreView, SignalsPage
from viper.scoring import IncrementalScorer, ScoreParams
from viper.timeframes import timeframe_ms

HISTORY = 500  # scores kept per symbol and timeframe
MAX_SIGNALS = 1000  # recent signals kept, all symbols together
MAX_PAGE = 1000  # signals one page may hold


class Scored(msgspec.Struct, frozen=True, kw_only=True):
    """One scored bar: its view, and the events it gives rise to."""

    view: ScoreView
    computed: ScoreComputed
    signal: SignalGenerated | None = None


class SignalFilter(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which recent signals to return (all filters optional), and which page of them."""

    symbol: str | None = None
    timeframe: str | None = None
    direction: Literal["long", "short"] | None = None
    min_score: Annotated[float, Meta(ge=0, le=100)] | None = None
    since_ms: Annotated[int, Meta(ge=0)] | None = None
    limit: Annotated[int, Meta(ge=1, le=MAX_PAGE)] = 100
    offset: Annotated[int, Meta(ge=0)] = 0


class SignalProcessor:
    """Scores candles per symbol and timeframe; keeps latest scores, histories and signals."""

    def __init__(
        self, params: ScoreParams, *, history: int = HISTORY, max_signals: int = MAX_SIGNALS
    ) -> None:
        self.params = params
        self.history_size = history
        self._scorers: dict[str, IncrementalScorer] = {}
        self._step_ms: dict[str, int] = {}
        self._history: dict[tuple[str, str], collections.deque[ScoreView]] = {}
        self._signals: collections.deque[Signal] = collections.deque(maxlen=max_signals)
        self.scored = 0
        self.signalled = 0
        self.last_score_ms: int | None = None

    def _scorer(self, timeframe: str) -> IncrementalScorer:
        scorer = self._scorers.get(timeframe)
        if scorer is None:
            self._step_ms[timeframe] = timeframe_ms(timeframe)
            scorer = self._scorers[timeframe] = IncrementalScorer(self.params)
        return scorer

    def process(self, event: CandleClosed) -> Scored | None:
        """Score the event's candle; None during warm-up, replays, or with no direction."""
        score = self._scorer(event.timeframe).update(event.symbol, event.candle)
        if score is None:
            return None
        close_ms = event.candle.ts_ms + self._step_ms[event.timeframe]
        is_signal = score.score >= self.params.threshold
        view = ScoreView(
            symbol=event.symbol,
            timeframe=event.timeframe,
            ts_ms=score.ts_ms,
            close_ts_ms=close_ms,
            score=score.score,
            direction=score.direction,
            volume=score.volume,
            price=score.price,
            range=score.range,
            external=score.external,
            close=event.candle.close,
            signal=is_signal,
        )
        self._remember(view)
        computed = ScoreComputed(
            ts_ms=close_ms, symbol=event.symbol, timeframe=event.timeframe, score=score
        )
        if not is_signal:
            return Scored(view=view, computed=computed)
        signal = SignalGenerated(
            ts_ms=close_ms,
            symbol=event.symbol,
            timeframe=event.timeframe,
            direction=score.direction,
            score=score.score,
            price=event.candle.close,
        )
        self._signals.append(
            Signal(
                ts_ms=close_ms,
                symbol=event.symbol,
                timeframe=event.timeframe,
                direction=score.direction,
                score=score.score,
                price=event.candle.close,
            )
        )
        self.signalled += 1
        return Scored(view=view, computed=computed, signal=signal)

    def _remember(self, view: ScoreView) -> None:
        key = (view.symbol, view.timeframe)
        series = self._history.get(key)
        if series is None:
            series = self._history[key] = collections.deque(maxlen=self.history_size)
        series.append(view)
        self.scored += 1
        self.last_score_ms = view.close_ts_ms

    # --- queries -----------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        """Symbols with at least one score, sorted."""
        return sorted({symbol for symbol, _ in self._history})

    @property
    def series_count(self) -> int:
        """(symbol, timeframe) pairs with at least one score."""
        return len(self._history)

    def _known_symbol(self, symbol: str) -> str:
        """`symbol` as scored (case-insensitive match); NotFoundError names it otherwise."""
        known = self.symbols
        if symbol in known:
            return symbol
        for name in known:
            if name.lower() == symbol.lower():
                return name
        raise NotFoundError(f"no scores for symbol {symbol!r}", field="symbol", symbol=symbol)

    def _series(self, symbol: str | None, timeframe: str | None) -> list[tuple[str, str]]:
        keys = list(self._history)
        if symbol is not None:
            symbol = self._known_symbol(symbol)
            keys = [k for k in keys if k[0] == symbol]
        if timeframe is not None:
            keys = [k for k in keys if k[1] == timeframe]
            if symbol is not None and not keys:
                raise NotFoundError(
                    f"no scores for symbol {symbol!r} on timeframe {timeframe!r}",
                    field="timeframe",
                    symbol=symbol,
                )
        return sorted(keys)

    def latest(self, symbol: str | None = None, timeframe: str | None = None) -> ScoresPage:
        """The latest score of every series, or of those matching the filters."""
        views = [self._history[key][-1] for key in self._series(symbol, timeframe)]
        return self._page(views)

    def history(self, symbol: str | None, timeframe: str | None, n: int) -> ScoresPage:
        """The last `n` scores of one symbol (and timeframe, when it has several), oldest first."""
        if symbol is None:
            raise ValidationError("symbol: history needs a symbol", field="symbol")
        keys = self._series(symbol, timeframe)
        if len(keys) > 1:
            frames = ", ".join(k[1] for k in keys)
            raise ValidationError(
                f"timeframe: {symbol!r} is scored on {frames}; name one", field="timeframe"
            )
        series = self._history[keys[0]]
        return self._page(list(series)[-n:])

    def _page(self, views: list[ScoreView]) -> ScoresPage:
        return ScoresPage(count=len(views), threshold=self.params.threshold, scores=views)

    def signals(self, query: SignalFilter) -> SignalsPage:
        """Recent signals matching `query`, newest first, one page of them."""
        matching = list(_matching(reversed(self._signals), query))
        page = matching[query.offset : query.offset + query.limit]
        return SignalsPage(
            total=len(matching), limit=query.limit, offset=query.offset, signals=page
        )


def _matching(signals: Iterable[Signal], query: SignalFilter) -> Iterable[Signal]:
    symbol = query.symbol.lower() if query.symbol is not None else None
    direction: Direction | None = query.direction
    for signal in signals:
        if symbol is not None and signal.symbol.lower() != symbol:
            continue
        if query.timeframe is not None and signal.timeframe != query.timeframe:
            continue
        if direction is not None and signal.direction != direction:
            continue
        if query.min_score is not None and signal.score < query.min_score:
            continue
        if query.since_ms is not None and signal.ts_ms < query.since_ms:
            continue
        yield signal
