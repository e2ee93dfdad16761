"""Which source the config asks for, built with what it needs.

`source = "auto"` replays in paper mode and goes live otherwise. Replay plays stored candles
when the store has them for every symbol (`replay_data = "auto"` or `"store"`), else the
synthetic market. The network sources (and ccxt with them) are imported only when chosen.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from loguru import logger

from viper.clock import Clock
from viper.config import Config, ExchangeConfig, StreamerConfig
from viper.errors import ConfigError
from viper.marketdata.frames import grid_offset_ms
from viper.marketdata.synthetic import SyntheticMarket
from viper.modules.streamer.feed import Source
from viper.modules.streamer.replay import (
    ReplaySource,
    Step,
    load_frames,
    stored_steps,
    synthetic_steps,
)
from viper.protocols import CandleSource
from viper.timeframes import floor_ms, timeframe_ms

SourceKind = Literal["replay", "poll", "live"]
# (exchange config, websocket?) -> a ccxt client; tests hand in one that points at a fake.
ClientFactory = Callable[[ExchangeConfig, bool], Any]


def source_kind(cfg: StreamerConfig, config: Config) -> SourceKind:
    """The source to run: `auto` means replay in paper mode, live otherwise."""
    if cfg.source == "auto":
        return "replay" if config.exchange.mode == "paper" else "live"
    return cfg.source


def stale_after(cfg: StreamerConfig, kind: SourceKind, step_ms: int) -> float:
    """Seconds of silence that make a symbol stale: as configured, or three bars.

    A replay delivers a bar every `timeframe / speed`, so its three bars are that much shorter.
    """
    if cfg.stale_after_seconds > 0:
        return cfg.stale_after_seconds
    bars = 3 * step_ms / 1000
    return bars / cfg.speed if kind == "replay" else bars


async def build_source(
    cfg: StreamerConfig,
    config: Config,
    *,
    clock: Clock,
    candles: CandleSource | None,
    client_factory: ClientFactory | None = None,
) -> Source:
    """The configured source, ready to run (no network I/O happens here)."""
    kind = source_kind(cfg, config)
    if kind == "replay":
        return await build_replay(cfg, config, clock=clock, candles=candles)
    rest: Any = importlib.import_module("viper.modules.streamer.rest")
    factory: ClientFactory = client_factory or (
        lambda exchange, websocket: rest.make_client(exchange, websocket=websocket)
    )
    symbols, timeframe = config.trading.symbols, config.trading.timeframe
    common = {
        "exchange": config.exchange.id,
        "warmup": cfg.warmup_bars,
        "max_delay": cfg.reconnect_max_delay_seconds,
        "clock": clock,
    }
    if kind == "poll":
        polling: Any = importlib.import_module("viper.modules.streamer.polling")
        client = factory(config.exchange, False)
        return polling.PollingSource(
            client, symbols, timeframe, interval=cfg.poll_interval_seconds, **common
        )
    live: Any = importlib.import_module("viper.modules.streamer.live")
    client = factory(config.exchange, True)
    return live.LiveSource(client, symbols, timeframe, **common)


async def build_replay(
    cfg: StreamerConfig, config: Config, *, clock: Clock, candles: CandleSource | None
) -> ReplaySource:
    """A replay of stored candles when every symbol has some, else of the synthetic market."""
    symbols, timeframe = config.trading.symbols, config.trading.timeframe
    exchange = config.data.exchange or config.exchange.id
    if cfg.replay_data != "synthetic":
        if candles is None:
            if cfg.replay_data == "store":
                raise ConfigError(
                    "streamer.replay_data: 'store' needs stored candles, but the data module "
                    "(which serves them) is not enabled"
                )
        else:
            frames = await load_frames(candles, exchange, symbols, timeframe)
            missing = [s for s, frame in frames.items() if frame.is_empty()]
            if not missing:
                return _replay(stored_steps(frames), cfg, timeframe, clock, exchange, "store")
            _no_store(cfg, exchange, timeframe, missing)
    step, offset = timeframe_ms(timeframe), grid_offset_ms(timeframe)
    # The warmup ends at the present bar, so a real-time replay keeps pace with the wall clock.
    start_ms = floor_ms(clock.now_ms() - offset, timeframe) + offset - cfg.warmup_bars * step
    market = SyntheticMarket(symbols, timeframe, cfg.seed, start_ms)
    steps = synthetic_steps(market, symbols)
    return _replay(steps, cfg, timeframe, clock, "synthetic", "synthetic")


def _replay(
    steps: Iterator[Step],
    cfg: StreamerConfig,
    timeframe: str,
    clock: Clock,
    exchange: str,
    data: str,
) -> ReplaySource:
    return ReplaySource(
        steps,
        exchange=exchange,
        timeframe=timeframe,
        speed=cfg.speed,
        warmup=cfg.warmup_bars,
        clock=clock,
        data=data,
    )


def _no_store(cfg: StreamerConfig, exchange: str, timeframe: str, missing: Sequence[str]) -> None:
    what = f"no stored {timeframe} candles on {exchange} for {', '.join(missing)}"
    if cfg.replay_data == "store":
        raise ConfigError(f"streamer.replay_data: 'store' but {what}")
    logger.info("{}: replaying the synthetic market", what)
