"""Market data streamer: live and replayed candles and ticks."""

from viper.modules.streamer.module import StreamerModule as module

__all__ = ["module"]
