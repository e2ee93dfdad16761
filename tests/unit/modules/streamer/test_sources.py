"""Which source the config picks, and what a replay plays."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import make_config
from viper.clock import TestClock
from viper.config import Config, StreamerConfig
from viper.errors import ConfigError, NotFoundError
from viper.marketdata.synthetic import generate
from viper.modules.streamer.replay import ReplaySource
from viper.modules.streamer.rest import make_client
from viper.modules.streamer.sources import build_replay, build_source, source_kind, stale_after

SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]


class DictCandles:
    """Stored candles from a dict: (exchange, symbol, timeframe) -> frame."""

    def __init__(self, frames: dict[tuple[str, str, str], pl.DataFrame]) -> None:
        self.frames = frames
        self.asked: list[tuple[str, str, str]] = []

    async def candles(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> pl.DataFrame:
        self.asked.append((exchange, symbol, timeframe))
        key = (exchange, symbol, timeframe)
        if key not in self.frames:  # as the data module answers
            raise NotFoundError(f"no {timeframe} candles stored for {symbol} on {exchange}")
        return self.frames[key]


def config(tmp_path: Path, **streamer: object) -> Config:
    return make_config(
        tmp_path, trading={"symbols": SYMBOLS, "timeframe": "1m"}, streamer=dict(streamer)
    )


def test_auto_replays_in_paper_mode_and_goes_live_otherwise(tmp_path: Path) -> None:
    cfg = StreamerConfig()
    assert source_kind(cfg, make_config(tmp_path)) == "replay"
    assert source_kind(cfg, make_config(tmp_path, exchange={"mode": "demo"})) == "live"
    assert source_kind(StreamerConfig(source="poll"), make_config(tmp_path)) == "poll"


def test_stale_after_defaults_to_three_bars_faster_in_a_fast_replay() -> None:
    assert stale_after(StreamerConfig(), "live", 60_000) == 180.0
    assert stale_after(StreamerConfig(speed=60.0), "replay", 60_000) == 3.0
    assert stale_after(StreamerConfig(stale_after_seconds=7.5), "replay", 60_000) == 7.5


async def test_replay_plays_stored_candles_when_every_symbol_has_them(tmp_path: Path) -> None:
    frames = generate(SYMBOLS, "1m", 1_699_999_980_000, 5)
    store = DictCandles({("bitget", s, "1m"): f for s, f in frames.items()})
    source = await build_replay(
        StreamerConfig(), config(tmp_path), clock=TestClock(), candles=store
    )
    assert (source.data, source.exchange) == ("store", "bitget")
    assert store.asked == [("bitget", s, "1m") for s in SYMBOLS]


async def test_auto_falls_back_to_synthetic_when_a_symbol_has_no_stored_candles(
    tmp_path: Path,
) -> None:
    frames = generate(SYMBOLS[:1], "1m", 1_699_999_980_000, 5)
    store = DictCandles({("bitget", s, "1m"): f for s, f in frames.items()})
    source = await build_replay(
        StreamerConfig(), config(tmp_path), clock=TestClock(), candles=store
    )
    assert source.data == "synthetic"
    empty = DictCandles({("bitget", s, "1m"): frames[SYMBOLS[0]].clear() for s in SYMBOLS})
    cleared = await build_replay(
        StreamerConfig(), config(tmp_path), clock=TestClock(), candles=empty
    )
    assert cleared.data == "synthetic"
    nothing = await build_replay(
        StreamerConfig(), config(tmp_path), clock=TestClock(), candles=None
    )
    assert nothing.data == "synthetic"


async def test_store_replay_without_stored_candles_is_a_config_error(tmp_path: Path) -> None:
    cfg = StreamerConfig(replay_data="store")
    with pytest.raises(ConfigError, match="data module"):
        await build_replay(cfg, config(tmp_path), clock=TestClock(), candles=None)
    frames = generate(SYMBOLS[:1], "1m", 1_699_999_980_000, 5)
    store = DictCandles({("bitget", s, "1m"): f for s, f in frames.items()})
    with pytest.raises(ConfigError, match=r"ETH/USDT:USDT"):
        await build_replay(cfg, config(tmp_path), clock=TestClock(), candles=store)


async def test_synthetic_replay_warms_up_to_the_present_bar(tmp_path: Path) -> None:
    clock = TestClock(start=1_700_000_012.5)
    source = await build_source(
        StreamerConfig(replay_data="synthetic", warmup_bars=3),
        config(tmp_path),
        clock=clock,
        candles=None,
    )
    assert isinstance(source, ReplaySource)
    opens = [ts for ts, _ in (next(source._steps) for _ in range(4))]
    now_bar = 1_700_000_012_500 - 1_700_000_012_500 % 60_000
    assert opens == [now_bar - 3 * 60_000, now_bar - 2 * 60_000, now_bar - 60_000, now_bar]


async def test_network_sources_get_clients_and_close_them(tmp_path: Path) -> None:
    made: list[tuple[str, bool]] = []

    def factory(exchange: object, websocket: bool) -> object:
        client = make_client(exchange, websocket=websocket)  # type: ignore[arg-type]
        made.append((type(client).__module__, websocket))
        return client

    for kind in ("poll", "live"):
        source = await build_source(
            StreamerConfig(source=kind),  # type: ignore[arg-type]
            config(tmp_path),
            clock=TestClock(),
            candles=None,
            client_factory=factory,
        )
        assert source.name == kind and source.exchange == "bitget"
        await source.close()
        await source.close()  # safe twice
    assert made == [("ccxt.async_support.bitget", False), ("ccxt.pro.bitget", True)]


def test_an_exchange_ccxt_does_not_know_is_a_config_error(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, exchange={"id": "nosuchexchange"}).exchange
    with pytest.raises(ConfigError, match="nosuchexchange"):
        make_client(cfg, websocket=True)
