"""Config sections of the process, the market, trading and the modules: one Struct each."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from viper.config_base import (
    MODULE_NAMES,
    Fraction,
    LogLevel,
    ModuleName,
    NonNegativeFloat,
    NonNegativeInt,
    OpenPath,
    Percent,
    Port,
    PositiveFloat,
    PositiveInt,
    RiskFraction,
    Secret,
    Section,
    doc,
)


class ServerConfig(Section, frozen=True):
    host: Annotated[str, doc("Address to bind; 127.0.0.1 keeps the API off the network")] = (
        "127.0.0.1"
    )
    port: Annotated[Port, doc("HTTP port of the one router (API_SERVER_PORT)")] = 8000
    legacy_ports: Annotated[
        bool, doc("Also serve each module at the root of its original port (8001..8016)")
    ] = False
    legacy_port_offset: Annotated[
        NonNegativeInt, doc("Added to every legacy port (to run two instances on one host)")
    ] = 0
    debug: Annotated[bool, doc("Debug mode: tracebacks in logs, verbose output (DEBUG_MODE)")] = (
        False
    )
    access_log: Annotated[bool, doc("Log every HTTP request")] = False
    start_timeout_seconds: Annotated[
        PositiveFloat, doc("How long one module may take to start before the process fails")
    ] = 30.0
    stop_timeout_seconds: Annotated[
        PositiveFloat, doc("How long one module may take to stop before it is abandoned")
    ] = 10.0
    node_status_seconds: Annotated[
        PositiveFloat, doc("How often this process announces its modules on the bus")
    ] = 5.0
    health_max_age_seconds: Annotated[
        NonNegativeFloat,
        doc(
            "/health answers from a snapshot at most this old, "
            "renewed when a module starts or stops"
        ),
    ] = 0.25


def _default_open_paths() -> list[str]:
    return ["/health", "/metrics"]


class AuthConfig(Section, frozen=True):
    enabled: Annotated[
        bool, doc("Require a vault API token (or a dashboard session) on every other route")
    ] = True
    open_paths: Annotated[
        list[OpenPath],
        doc("Paths served without a token ('/x/*' = under /x); /, /static/*, /auth/login always"),
    ] = msgspec.field(default_factory=_default_open_paths)
    session_hours: Annotated[
        PositiveFloat, doc("Lifetime of a dashboard session (a revoked token ends it at once)")
    ] = 12.0
    max_failures_per_minute: Annotated[
        PositiveInt, doc("Failed token checks per client address per minute before a 429")
    ] = 10


class LoggingConfig(Section, frozen=True):
    level: Annotated[LogLevel, doc("Lowest level logged (LOG_LEVEL)")] = "INFO"
    file: Annotated[str, doc("JSON-lines log file; empty disables the file")] = "logs/viper.jsonl"
    rotation: Annotated[str, doc("Rotate the file at this size")] = "50 MB"
    retention: Annotated[PositiveInt, doc("Rotated files kept")] = 10
    console: Annotated[bool, doc("Human-readable log lines on stderr")] = True


class BusConfig(Section, frozen=True):
    backend: Annotated[Literal["memory", "redis"], doc("Event bus: in-process or Redis")] = "memory"
    queue_size: Annotated[PositiveInt, doc("Bounded queue length of each subscriber")] = 10_000
    drain_timeout_seconds: Annotated[
        PositiveFloat, doc("On shutdown, how long subscribers may take to drain their queues")
    ] = 5.0
    stream: Annotated[str, doc("Redis stream that carries the events")] = "viper:events"
    stream_maxlen: Annotated[PositiveInt, doc("Approximate length the stream is trimmed to")] = (
        100_000
    )
    group: Annotated[
        str,
        doc("Consumer group of this process; processes in one group share events, empty = own"),
    ] = ""
    node_id: Annotated[
        str,
        doc("Stable name of this process on the bus (to resume a named group); empty = host:pid"),
    ] = ""


class RedisConfig(Section, frozen=True):
    url: Annotated[str, doc("Redis URL, e.g. redis://127.0.0.1:6379/0; empty = no Redis")] = ""
    publish_config: Annotated[
        bool, doc("Publish risk settings and symbols under config:risk_management/_symbols")
    ] = True


class StoreConfig(Section, frozen=True):
    database: Annotated[str, doc("SQLite database of orders, fills, results, alerts")] = (
        "data/viper.db"
    )
    candles_dir: Annotated[str, doc("Folder of the Parquet candle store")] = "data/candles"


def _all_modules() -> list[ModuleName]:
    # The logger first, so that it indexes the other modules' start-up records.
    ordered = ["logger", *(name for name in MODULE_NAMES if name != "logger")]
    return ordered  # type: ignore[return-value]


class ModulesConfig(Section, frozen=True):
    enabled: Annotated[list[ModuleName], doc("Modules this process runs")] = msgspec.field(
        default_factory=_all_modules
    )


class ExchangeConfig(Section, frozen=True):
    id: Annotated[str, doc("ccxt exchange id")] = "bitget"
    mode: Annotated[
        Literal["paper", "demo", "live"],
        doc("paper: in-process simulation; demo: exchange demo trading; live: real money"),
    ] = "paper"
    market_type: Annotated[Literal["swap", "spot"], doc("Market type traded")] = "swap"
    api_key: Annotated[Secret, doc("API key (BITGET_API_KEY); better kept in the vault")] = (
        msgspec.field(default_factory=Secret)
    )
    api_secret: Annotated[Secret, doc("API secret (BITGET_API_SECRET)")] = msgspec.field(
        default_factory=Secret
    )
    api_password: Annotated[Secret, doc("API passphrase (BITGET_API_PASSWORD)")] = msgspec.field(
        default_factory=Secret
    )
    timeout_seconds: Annotated[PositiveFloat, doc("Timeout of one exchange request")] = 10.0
    api_url: Annotated[
        str, doc("Replace the exchange's REST base URL (a proxy or a local test server)")
    ] = ""
    paper_balance: Annotated[PositiveFloat, doc("Starting USDT balance of the paper account")] = (
        10_000.0
    )


class TradingConfig(Section, frozen=True):
    symbols: Annotated[list[str], doc("Symbols traded, in ccxt form")] = msgspec.field(
        default_factory=lambda: ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    )
    timeframe: Annotated[str, doc("Bar size the strategy trades on")] = "1m"
    strategy: Annotated[str, doc("Strategy the live engine runs")] = "viper"


class RiskConfig(Section, frozen=True):
    risk_per_trade: Annotated[
        RiskFraction, doc("Share of equity lost if the stop is hit (RISK_PER_TRADE)")
    ] = 0.02
    max_leverage: Annotated[
        Annotated[int, Meta(ge=1, le=125)], doc("Highest leverage ever used (MAX_LEVERAGE)")
    ] = 10
    max_open_positions: Annotated[PositiveInt, doc("Open positions at once")] = 5
    daily_loss_limit: Annotated[
        Fraction, doc("No new entries after losing this share of the day's starting equity")
    ] = 0.03
    max_drawdown: Annotated[
        Fraction, doc("Kill switch: flatten and halt at this drawdown from the equity peak")
    ] = 0.15
    max_total_exposure: Annotated[
        PositiveFloat, doc("Sum of position notionals as a multiple of equity")
    ] = 3.0
    max_notional_per_symbol: Annotated[
        PositiveFloat, doc("Largest position notional in one symbol, in USDT")
    ] = 50_000.0


class SignalConfig(Section, frozen=True):
    threshold: Annotated[Percent, doc("A score at or above this is a signal (VIPER_THRESHOLD)")] = (
        85.0
    )
    lookback: Annotated[
        Annotated[int, Meta(ge=2, le=1000)], doc("Bars in the score's averages")
    ] = 20
    weight_volume: Annotated[Annotated[float, Meta(ge=0)], doc("Weight of volume")] = 1.0
    weight_price: Annotated[Annotated[float, Meta(ge=0)], doc("Weight of price")] = 1.0
    weight_range: Annotated[Annotated[float, Meta(ge=0)], doc("Weight of range")] = 1.0
    weight_external: Annotated[Annotated[float, Meta(ge=0)], doc("Weight of external")] = 1.0


class BacktesterConfig(Section, frozen=True):
    workers: Annotated[PositiveInt, doc("Processes that run backtests (BACKTEST_WORKERS)")] = 2


class OptimizerConfig(Section, frozen=True):
    storage: Annotated[
        Secret,
        doc(
            "Optuna storage of named (distributed) studies: postgresql://..., redis://host/db "
            "(journal), journal:///path/file.log or sqlite:///path.db; empty = none"
        ),
    ] = msgspec.field(default_factory=Secret)
    trials: Annotated[PositiveInt, doc("Optuna trials per study when a request sets none")] = 100
    top_n: Annotated[PositiveInt, doc("Rows of the best-parameters table kept per result")] = 10
    objective: Annotated[
        Literal["sharpe", "sortino", "calmar", "total_return", "profit_factor"],
        doc("Figure maximized when a request sets none"),
    ] = "sharpe"
    min_trades: Annotated[
        NonNegativeInt, doc("Default constraint: fewer trades than this scores -inf")
    ] = 10
    max_drawdown: Annotated[
        Annotated[float, Meta(ge=0, le=1)],
        doc("Default constraint: a deeper drawdown (fraction) scores -inf; 0 = no limit"),
    ] = 0.0
    sampler: Annotated[
        Literal["tpe", "cmaes", "random"], doc("Optuna sampler when a request sets none")
    ] = "tpe"
    pruner: Annotated[
        Literal["median", "none"], doc("Optuna pruner: median stops trials behind the median")
    ] = "median"
    pruner_chunks: Annotated[
        Annotated[int, Meta(ge=2, le=50)],
        doc("Pieces a pruned trial's period is run in (the pruner's intermediate steps)"),
    ] = 4
    max_grid: Annotated[
        PositiveInt, doc("Largest grid evaluated exhaustively; larger spaces need optuna")
    ] = 20_000
    overfit_ratio: Annotated[
        Fraction, doc("Walk-forward warns when out-of-sample is below this share of in-sample")
    ] = 0.5
    wait_seconds: Annotated[
        PositiveFloat, doc("How long a study worker waits for the others' last trials")
    ] = 600.0


class CacheConfig(Section, frozen=True):
    ttl_seconds: Annotated[
        PositiveInt, doc("Market-data cache lifetime in seconds (CACHE_TTL_SECONDS)")
    ] = 300
    scores_ttl_seconds: Annotated[PositiveInt, doc("Score cache lifetime in seconds")] = 600
    config_ttl_seconds: Annotated[PositiveInt, doc("Config cache lifetime in seconds")] = 3600
    max_entries: Annotated[PositiveInt, doc("Entries the in-process cache holds")] = 256


class DataConfig(Section, frozen=True):
    exchange: Annotated[
        str, doc("Exchange whose candles are stored and served; empty = [exchange] id")
    ] = ""
    page_size: Annotated[
        Annotated[int, Meta(ge=10, le=5000)], doc("Candles asked for per download request")
    ] = 1000
    max_rows_per_request: Annotated[
        PositiveInt, doc("Largest page /data/candles returns as JSON")
    ] = 10_000


class StreamerConfig(Section, frozen=True):
    source: Annotated[
        Literal["auto", "replay", "live", "poll"],
        doc("auto: replay in paper mode, live websocket otherwise; poll: REST polling"),
    ] = "auto"
    replay_data: Annotated[
        Literal["auto", "store", "synthetic"],
        doc("What replay plays: stored candles when present (auto), or the synthetic market"),
    ] = "auto"
    speed: Annotated[
        PositiveFloat,
        doc("Replay speed: 1 = real time; the default 10 trades within minutes on paper"),
    ] = 10.0
    warmup_bars: Annotated[
        NonNegativeInt, doc("Bars published at once before replay paces itself")
    ] = 200
    seed: Annotated[int, doc("Seed of the synthetic market")] = 7
    stale_after_seconds: Annotated[
        Annotated[float, Meta(ge=0)], doc("No data for this long = stale; 0 = three bars")
    ] = 0.0
    poll_interval_seconds: Annotated[PositiveFloat, doc("REST polling period")] = 5.0
    reconnect_max_delay_seconds: Annotated[
        PositiveFloat, doc("Longest wait between reconnect attempts")
    ] = 30.0


class VaultConfig(Section, frozen=True):
    key_file: Annotated[
        str, doc("Master key file (0600); used when VIPER_MASTER_KEY is unset; created if missing")
    ] = "data/vault.key"
    import_env: Annotated[
        bool, doc("Import BITGET_API_KEY/_SECRET/_PASSWORD into the vault at start")
    ] = True


class OrderConfig(Section, frozen=True):
    limit_timeout_seconds: Annotated[
        PositiveFloat, doc("An unfilled limit order is handled after this long")
    ] = 60.0
    on_timeout: Annotated[
        Literal["cancel", "reprice"], doc("What to do with a timed-out limit order")
    ] = "cancel"
    max_reprices: Annotated[
        NonNegativeInt, doc("Re-prices before a timed-out order is cancelled")
    ] = 3
    poll_seconds: Annotated[
        PositiveFloat, doc("How often open orders are checked with the exchange")
    ] = 2.0


class SyncConfig(Section, frozen=True):
    interval_seconds: Annotated[PositiveFloat, doc("Reconciliation period with the exchange")] = (
        30.0
    )


class LiveConfig(Section, frozen=True):
    autostart: Annotated[bool, doc("Start trading when the process starts")] = True
    stops: Annotated[
        Literal["exchange", "engine"],
        doc("Stop-loss/take-profit as exchange-side orders, or watched by the engine"),
    ] = "engine"
