"""Typed configuration: `config.toml`, then environment overrides, into frozen msgspec Structs.

Unknown keys are errors (typo protection). Environment overrides come in two forms: the
original system's names (`RISK_PER_TRADE`, `BITGET_API_KEY`, ...) and `VIPER__SECTION__KEY`.
Every error names the key and the problem in one line; see `load_config`.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from viper.errors import ConfigError

# Constraint aliases, named once.
PositiveInt = Annotated[int, Meta(gt=0)]
NonNegativeInt = Annotated[int, Meta(ge=0)]
Port = Annotated[int, Meta(ge=1, le=65535)]
PortOrZero = Annotated[int, Meta(ge=0, le=65535)]
PositiveFloat = Annotated[float, Meta(gt=0)]
Fraction = Annotated[float, Meta(gt=0, le=1)]
RiskFraction = Annotated[float, Meta(gt=0, le=0.1)]
Percent = Annotated[float, Meta(ge=0, le=100)]
LogLevel = Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"]
AlertSeverity = Literal["info", "warning", "critical"]
AlertRuleName = Literal[
    "daily_loss",
    "drawdown",
    "kill_switch",
    "order_rejected",
    "module_failed",
    "position_desync",
    "data_stale",
    "exchange_down",
    "raised",
]
ChannelName = Annotated[str, Meta(pattern=r"^([a-z0-9][a-z0-9_-]{0,31})?$")]
HttpUrl = Annotated[str, Meta(pattern=r"^https?://[^\s/]+\S*$")]
EmailAddress = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+$")]
OpenPath = Annotated[str, Meta(pattern=r"^/\S*$")]

MODULE_NAMES: tuple[str, ...] = (
    "api",
    "web",
    "backtester",
    "risk",
    "data",
    "optimizer",
    "exchange",
    "monitoring",
    "live",
    "vault",
    "streamer",
    "signal",
    "alerts",
    "order",
    "sync",
    "mcp",
    "logger",
)
ModuleName = Literal[
    "api",
    "web",
    "backtester",
    "risk",
    "data",
    "optimizer",
    "exchange",
    "monitoring",
    "live",
    "vault",
    "streamer",
    "signal",
    "alerts",
    "order",
    "sync",
    "mcp",
    "logger",
]


def _doc(text: str) -> Meta:
    return Meta(description=text)


class Secret:
    """A secret value: masked in every repr, log line and encoded config."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def reveal(self) -> str:
        """The plain value, for the one place that must send it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every config section."""


class ServerConfig(Section, frozen=True):
    host: Annotated[str, _doc("Address to bind; 127.0.0.1 keeps the API off the network")] = (
        "127.0.0.1"
    )
    port: Annotated[Port, _doc("HTTP port of the one router (API_SERVER_PORT)")] = 8000
    legacy_ports: Annotated[
        bool, _doc("Also serve each module at the root of its original port (8001..8016)")
    ] = False
    legacy_port_offset: Annotated[
        NonNegativeInt, _doc("Added to every legacy port (to run two instances on one host)")
    ] = 0
    debug: Annotated[bool, _doc("Debug mode: tracebacks in logs, verbose output (DEBUG_MODE)")] = (
        False
    )
    access_log: Annotated[bool, _doc("Log every HTTP request")] = False
    start_timeout_seconds: Annotated[
        PositiveFloat, _doc("How long one module may take to start before the process fails")
    ] = 30.0
    stop_timeout_seconds: Annotated[
        PositiveFloat, _doc("How long one module may take to stop before it is abandoned")
    ] = 10.0
    node_status_seconds: Annotated[
        PositiveFloat, _doc("How often this process announces its modules on the bus")
    ] = 5.0


def _default_open_paths() -> list[str]:
    return ["/health", "/metrics"]


class AuthConfig(Section, frozen=True):
    enabled: Annotated[
        bool, _doc("Require a vault API token (or a dashboard session) on every other route")
    ] = True
    open_paths: Annotated[
        list[OpenPath],
        _doc("Paths served without a token ('/x/*' = under /x); /, /static/*, /auth/login always"),
    ] = msgspec.field(default_factory=_default_open_paths)
    session_hours: Annotated[
        PositiveFloat, _doc("Lifetime of a dashboard session (a revoked token ends it at once)")
    ] = 12.0
    max_failures_per_minute: Annotated[
        PositiveInt, _doc("Failed token checks per client address per minute before a 429")
    ] = 10


class LoggingConfig(Section, frozen=True):
    level: Annotated[LogLevel, _doc("Lowest level logged (LOG_LEVEL)")] = "INFO"
    file: Annotated[str, _doc("JSON-lines log file; empty disables the file")] = "logs/viper.jsonl"
    rotation: Annotated[str, _doc("Rotate the file at this size")] = "50 MB"
    retention: Annotated[PositiveInt, _doc("Rotated files kept")] = 10
    console: Annotated[bool, _doc("Human-readable log lines on stderr")] = True


class BusConfig(Section, frozen=True):
    backend: Annotated[Literal["memory", "redis"], _doc("Event bus: in-process or Redis")] = (
        "memory"
    )
    queue_size: Annotated[PositiveInt, _doc("Bounded queue length of each subscriber")] = 10_000
    drain_timeout_seconds: Annotated[
        PositiveFloat, _doc("On shutdown, how long subscribers may take to drain their queues")
    ] = 5.0
    stream: Annotated[str, _doc("Redis stream that carries the events")] = "viper:events"
    stream_maxlen: Annotated[PositiveInt, _doc("Approximate length the stream is trimmed to")] = (
        100_000
    )
    group: Annotated[
        str,
        _doc("Consumer group of this process; processes in one group share events, empty = own"),
    ] = ""
    node_id: Annotated[
        str,
        _doc("Stable name of this process on the bus (to resume a named group); empty = host:pid"),
    ] = ""


class RedisConfig(Section, frozen=True):
    url: Annotated[str, _doc("Redis URL, e.g. redis://127.0.0.1:6379/0; empty = no Redis")] = ""
    publish_config: Annotated[
        bool, _doc("Publish risk settings and symbols under config:risk_management/_symbols")
    ] = True


class StoreConfig(Section, frozen=True):
    database: Annotated[str, _doc("SQLite database of orders, fills, results, alerts")] = (
        "data/viper.db"
    )
    candles_dir: Annotated[str, _doc("Folder of the Parquet candle store")] = "data/candles"


def _all_modules() -> list[ModuleName]:
    # The logger first, so that it indexes the other modules' start-up records.
    ordered = ["logger", *(name for name in MODULE_NAMES if name != "logger")]
    return ordered  # type: ignore[return-value]


class ModulesConfig(Section, frozen=True):
    enabled: Annotated[list[ModuleName], _doc("Modules this process runs")] = msgspec.field(
        default_factory=_all_modules
    )


class ExchangeConfig(Section, frozen=True):
    id: Annotated[str, _doc("ccxt exchange id")] = "bitget"
    mode: Annotated[
        Literal["paper", "demo", "live"],
        _doc("paper: in-process simulation; demo: exchange demo trading; live: real money"),
    ] = "paper"
    market_type: Annotated[Literal["swap", "spot"], _doc("Market type traded")] = "swap"
    api_key: Annotated[Secret, _doc("API key (BITGET_API_KEY); better kept in the vault")] = (
        msgspec.field(default_factory=Secret)
    )
    api_secret: Annotated[Secret, _doc("API secret (BITGET_API_SECRET)")] = msgspec.field(
        default_factory=Secret
    )
    api_password: Annotated[Secret, _doc("API passphrase (BITGET_API_PASSWORD)")] = msgspec.field(
        default_factory=Secret
    )
    timeout_seconds: Annotated[PositiveFloat, _doc("Timeout of one exchange request")] = 10.0
    api_url: Annotated[
        str, _doc("Replace the exchange's REST base URL (a proxy or a local test server)")
    ] = ""
    paper_balance: Annotated[PositiveFloat, _doc("Starting USDT balance of the paper account")] = (
        10_000.0
    )


class TradingConfig(Section, frozen=True):
    symbols: Annotated[list[str], _doc("Symbols traded, in ccxt form")] = msgspec.field(
        default_factory=lambda: ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    )
    timeframe: Annotated[str, _doc("Bar size the strategy trades on")] = "1m"
    strategy: Annotated[str, _doc("Strategy the live engine runs")] = "viper"


class RiskConfig(Section, frozen=True):
    risk_per_trade: Annotated[
        RiskFraction, _doc("Share of equity lost if the stop is hit (RISK_PER_TRADE)")
    ] = 0.02
    max_leverage: Annotated[
        Annotated[int, Meta(ge=1, le=125)], _doc("Highest leverage ever used (MAX_LEVERAGE)")
    ] = 10
    max_open_positions: Annotated[PositiveInt, _doc("Open positions at once")] = 5
    daily_loss_limit: Annotated[
        Fraction, _doc("No new entries after losing this share of the day's starting equity")
    ] = 0.03
    max_drawdown: Annotated[
        Fraction, _doc("Kill switch: flatten and halt at this drawdown from the equity peak")
    ] = 0.15
    max_total_exposure: Annotated[
        PositiveFloat, _doc("Sum of position notionals as a multiple of equity")
    ] = 3.0
    max_notional_per_symbol: Annotated[
        PositiveFloat, _doc("Largest position notional in one symbol, in USDT")
    ] = 50_000.0


class SignalConfig(Section, frozen=True):
    threshold: Annotated[
        Percent, _doc("A score at or above this is a signal (VIPER_THRESHOLD)")
    ] = 85.0
    lookback: Annotated[
        Annotated[int, Meta(ge=2, le=1000)], _doc("Bars in the score's averages")
    ] = 20
    weight_volume: Annotated[Annotated[float, Meta(ge=0)], _doc("Weight of volume")] = 1.0
    weight_price: Annotated[Annotated[float, Meta(ge=0)], _doc("Weight of price")] = 1.0
    weight_range: Annotated[Annotated[float, Meta(ge=0)], _doc("Weight of range")] = 1.0
    weight_external: Annotated[Annotated[float, Meta(ge=0)], _doc("Weight of external")] = 1.0


class BacktesterConfig(Section, frozen=True):
    workers: Annotated[PositiveInt, _doc("Processes that run backtests (BACKTEST_WORKERS)")] = 2


class OptimizerConfig(Section, frozen=True):
    storage: Annotated[
        Secret,
        _doc(
            "Optuna storage of named (distributed) studies: postgresql://..., redis://host/db "
            "(journal), journal:///path/file.log or sqlite:///path.db; empty = none"
        ),
    ] = msgspec.field(default_factory=Secret)
    trials: Annotated[PositiveInt, _doc("Optuna trials per study when a request sets none")] = 100
    top_n: Annotated[PositiveInt, _doc("Rows of the best-parameters table kept per result")] = 10
    objective: Annotated[
        Literal["sharpe", "sortino", "calmar", "total_return", "profit_factor"],
        _doc("Figure maximized when a request sets none"),
    ] = "sharpe"
    min_trades: Annotated[
        NonNegativeInt, _doc("Default constraint: fewer trades than this scores -inf")
    ] = 10
    max_drawdown: Annotated[
        Annotated[float, Meta(ge=0, le=1)],
        _doc("Default constraint: a deeper drawdown (fraction) scores -inf; 0 = no limit"),
    ] = 0.0
    sampler: Annotated[
        Literal["tpe", "cmaes", "random"], _doc("Optuna sampler when a request sets none")
    ] = "tpe"
    pruner: Annotated[
        Literal["median", "none"], _doc("Optuna pruner: median stops trials behind the median")
    ] = "median"
    pruner_chunks: Annotated[
        Annotated[int, Meta(ge=2, le=50)],
        _doc("Pieces a pruned trial's period is run in (the pruner's intermediate steps)"),
    ] = 4
    max_grid: Annotated[
        PositiveInt, _doc("Largest grid evaluated exhaustively; larger spaces need optuna")
    ] = 20_000
    overfit_ratio: Annotated[
        Fraction, _doc("Walk-forward warns when out-of-sample is below this share of in-sample")
    ] = 0.5
    wait_seconds: Annotated[
        PositiveFloat, _doc("How long a study worker waits for the others' last trials")
    ] = 600.0


class CacheConfig(Section, frozen=True):
    ttl_seconds: Annotated[
        PositiveInt, _doc("Market-data cache lifetime in seconds (CACHE_TTL_SECONDS)")
    ] = 300
    scores_ttl_seconds: Annotated[PositiveInt, _doc("Score cache lifetime in seconds")] = 600
    config_ttl_seconds: Annotated[PositiveInt, _doc("Config cache lifetime in seconds")] = 3600
    max_entries: Annotated[PositiveInt, _doc("Entries the in-process cache holds")] = 256


class DataConfig(Section, frozen=True):
    exchange: Annotated[
        str, _doc("Exchange whose candles are stored and served; empty = [exchange] id")
    ] = ""
    page_size: Annotated[
        Annotated[int, Meta(ge=10, le=5000)], _doc("Candles asked for per download request")
    ] = 1000
    max_rows_per_request: Annotated[
        PositiveInt, _doc("Largest page /data/candles returns as JSON")
    ] = 10_000


class StreamerConfig(Section, frozen=True):
    source: Annotated[
        Literal["auto", "replay", "live", "poll"],
        _doc("auto: replay in paper mode, live websocket otherwise; poll: REST polling"),
    ] = "auto"
    replay_data: Annotated[
        Literal["auto", "store", "synthetic"],
        _doc("What replay plays: stored candles when present (auto), or the synthetic market"),
    ] = "auto"
    speed: Annotated[
        PositiveFloat,
        _doc("Replay speed: 1 = real time; the default 10 trades within minutes on paper"),
    ] = 10.0
    warmup_bars: Annotated[
        NonNegativeInt, _doc("Bars published at once before replay paces itself")
    ] = 200
    seed: Annotated[int, _doc("Seed of the synthetic market")] = 7
    stale_after_seconds: Annotated[
        Annotated[float, Meta(ge=0)], _doc("No data for this long = stale; 0 = three bars")
    ] = 0.0
    poll_interval_seconds: Annotated[PositiveFloat, _doc("REST polling period")] = 5.0
    reconnect_max_delay_seconds: Annotated[
        PositiveFloat, _doc("Longest wait between reconnect attempts")
    ] = 30.0


class VaultConfig(Section, frozen=True):
    key_file: Annotated[
        str, _doc("Master key file (0600); used when VIPER_MASTER_KEY is unset; created if missing")
    ] = "data/vault.key"
    import_env: Annotated[
        bool, _doc("Import BITGET_API_KEY/_SECRET/_PASSWORD into the vault at start")
    ] = True


class OrderConfig(Section, frozen=True):
    limit_timeout_seconds: Annotated[
        PositiveFloat, _doc("An unfilled limit order is handled after this long")
    ] = 60.0
    on_timeout: Annotated[
        Literal["cancel", "reprice"], _doc("What to do with a timed-out limit order")
    ] = "cancel"
    max_reprices: Annotated[
        NonNegativeInt, _doc("Re-prices before a timed-out order is cancelled")
    ] = 3
    poll_seconds: Annotated[
        PositiveFloat, _doc("How often open orders are checked with the exchange")
    ] = 2.0


class SyncConfig(Section, frozen=True):
    interval_seconds: Annotated[PositiveFloat, _doc("Reconciliation period with the exchange")] = (
        30.0
    )


class LiveConfig(Section, frozen=True):
    autostart: Annotated[bool, _doc("Start trading when the process starts")] = True
    stops: Annotated[
        Literal["exchange", "engine"],
        _doc("Stop-loss/take-profit as exchange-side orders, or watched by the engine"),
    ] = "engine"


class LoggerConfig(Section, frozen=True):
    max_records: Annotated[
        PositiveInt, _doc("Records the in-memory log index keeps; older ones are read from files")
    ] = 200_000
    level: Annotated[
        LogLevel | Literal[""], _doc("Lowest level indexed; empty = the [logging] level")
    ] = ""
    max_page: Annotated[
        PositiveInt, _doc("Most records one /logger/logs or /search page holds")
    ] = 1000
    stream_queue: Annotated[
        PositiveInt, _doc("Records a live-tail client may fall behind by before losing the oldest")
    ] = 1000
    heartbeat_seconds: Annotated[
        PositiveFloat, _doc("Idle seconds before the live tail sends an SSE heartbeat")
    ] = 15.0


class AlertChannelBase(Section, frozen=True, tag_field="type"):
    name: Annotated[
        ChannelName, _doc("Unique channel name (default: its type); vault keys alerts.<name>.*")
    ] = ""
    enabled: Annotated[bool, _doc("Send alerts to this channel")] = True
    min_severity: Annotated[AlertSeverity, _doc("Lowest severity sent to this channel")] = "warning"
    timeout_seconds: Annotated[PositiveFloat, _doc("Timeout of one delivery attempt")] = 10.0


class WebhookChannel(AlertChannelBase, frozen=True, kw_only=True, tag="webhook"):
    url: Annotated[HttpUrl, _doc("Endpoint that receives each alert as a JSON POST")]
    secret: Annotated[
        Secret, _doc("HMAC-SHA256 key of X-Viper-Signature (better: vault alerts.<name>.secret)")
    ] = msgspec.field(default_factory=Secret)


class TelegramChannel(AlertChannelBase, frozen=True, kw_only=True, tag="telegram"):
    chat_id: Annotated[str, Meta(min_length=1), _doc("Chat that receives the messages")]
    token: Annotated[Secret, _doc("Bot token (better: vault alerts.<name>.token)")] = msgspec.field(
        default_factory=Secret
    )
    api_base: Annotated[HttpUrl, _doc("Bot API base URL")] = "https://api.telegram.org"


class DiscordChannel(AlertChannelBase, frozen=True, kw_only=True, tag="discord"):
    url: Annotated[Secret, _doc("Discord webhook URL (better: vault alerts.<name>.url)")] = (
        msgspec.field(default_factory=Secret)
    )


class EmailChannel(AlertChannelBase, frozen=True, kw_only=True, tag="email"):
    to: Annotated[list[EmailAddress], Meta(min_length=1), _doc("Recipients")]
    sender: Annotated[EmailAddress, _doc("From address")] = "viper@localhost"
    host: Annotated[str, Meta(min_length=1), _doc("SMTP server")] = "127.0.0.1"
    port: Annotated[Port, _doc("SMTP port (25, 587 with STARTTLS, 465 with ssl)")] = 25
    username: Annotated[str, _doc("SMTP login; empty = no login")] = ""
    password: Annotated[Secret, _doc("SMTP password (better: vault alerts.<name>.password)")] = (
        msgspec.field(default_factory=Secret)
    )
    starttls: Annotated[bool, _doc("Upgrade the connection with STARTTLS")] = False
    ssl: Annotated[bool, _doc("Connect with TLS from the start (SMTPS)")] = False


AlertChannel = WebhookChannel | TelegramChannel | DiscordChannel | EmailChannel


class AlertsConfig(Section, frozen=True):
    window_seconds: Annotated[
        PositiveFloat, _doc("Repeats of one alert (rule and key) in this window become a summary")
    ] = 60.0
    max_per_window: Annotated[
        PositiveInt, _doc("Distinct alerts one rule sends per window; the rest join its summary")
    ] = 10
    daily_loss_warn: Annotated[
        Fraction, _doc("Warn when the day's loss reaches this share of risk.daily_loss_limit")
    ] = 0.8
    drawdown_warn: Annotated[
        Fraction, _doc("Warn when the drawdown reaches this share of risk.max_drawdown")
    ] = 0.5
    disabled_rules: Annotated[list[AlertRuleName], _doc("Rules switched off")] = msgspec.field(
        default_factory=list
    )
    retry_attempts: Annotated[
        PositiveInt, _doc("Tries per delivery before it counts as failed")
    ] = 4
    retry_base_delay_seconds: Annotated[
        PositiveFloat, _doc("First wait between delivery tries; doubles each time")
    ] = 1.0
    retry_max_delay_seconds: Annotated[
        PositiveFloat, _doc("Longest wait between delivery tries")
    ] = 30.0
    history_days: Annotated[PositiveInt, _doc("Days of alert history kept in the database")] = 90
    channels: Annotated[
        list[AlertChannel],
        _doc("Channels: [[alerts.channels]] tables, type = webhook|telegram|discord|email"),
    ] = msgspec.field(default_factory=list)


class Config(Section, frozen=True):
    """The whole configuration; one section per concern."""

    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)
    bus: BusConfig = msgspec.field(default_factory=BusConfig)
    redis: RedisConfig = msgspec.field(default_factory=RedisConfig)
    store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    modules: ModulesConfig = msgspec.field(default_factory=ModulesConfig)
    exchange: ExchangeConfig = msgspec.field(default_factory=ExchangeConfig)
    trading: TradingConfig = msgspec.field(default_factory=TradingConfig)
    risk: RiskConfig = msgspec.field(default_factory=RiskConfig)
    signal: SignalConfig = msgspec.field(default_factory=SignalConfig)
    backtester: BacktesterConfig = msgspec.field(default_factory=BacktesterConfig)
    optimizer: OptimizerConfig = msgspec.field(default_factory=OptimizerConfig)
    cache: CacheConfig = msgspec.field(default_factory=CacheConfig)
    data: DataConfig = msgspec.field(default_factory=DataConfig)
    streamer: StreamerConfig = msgspec.field(default_factory=StreamerConfig)
    vault: VaultConfig = msgspec.field(default_factory=VaultConfig)
    order: OrderConfig = msgspec.field(default_factory=OrderConfig)
    sync: SyncConfig = msgspec.field(default_factory=SyncConfig)
    live: LiveConfig = msgspec.field(default_factory=LiveConfig)
    logger: LoggerConfig = msgspec.field(default_factory=LoggerConfig)
    alerts: AlertsConfig = msgspec.field(default_factory=AlertsConfig)


# The original system's environment variables and the key each one sets.
LEGACY_ENV: Mapping[str, tuple[str, str]] = {
    "BITGET_API_KEY": ("exchange", "api_key"),
    "BITGET_API_SECRET": ("exchange", "api_secret"),
    "BITGET_API_PASSWORD": ("exchange", "api_password"),
    "RISK_PER_TRADE": ("risk", "risk_per_trade"),
    "MAX_LEVERAGE": ("risk", "max_leverage"),
    "VIPER_THRESHOLD": ("signal", "threshold"),
    "API_SERVER_PORT": ("server", "port"),
    "BACKTEST_WORKERS": ("backtester", "workers"),
    "CACHE_TTL_SECONDS": ("cache", "ttl_seconds"),
    "LOG_LEVEL": ("logging", "level"),
    "DEBUG_MODE": ("server", "debug"),
}
ENV_PREFIX = "VIPER__"
_PATH_KEYS = (
    ("store", "database"),
    ("store", "candles_dir"),
    ("logging", "file"),
    ("vault", "key_file"),
)


def _dec_hook(tp: type, obj: object) -> object:
    if tp is Secret and isinstance(obj, str):
        return Secret(obj)
    raise NotImplementedError(f"cannot read {tp!r}")


def _enc_hook(obj: object) -> object:
    if isinstance(obj, Secret):
        return "***" if obj else ""
    raise NotImplementedError(f"cannot write {type(obj)!r}")


def _drop_secret(obj: object) -> object:
    if isinstance(obj, Secret):
        return None
    raise NotImplementedError(f"cannot write {type(obj)!r}")


def _list_fields() -> set[tuple[str, str]]:
    """(section, key) pairs whose type is a list; env values for them may be comma-separated."""
    found: set[tuple[str, str]] = set()
    for section in msgspec.structs.fields(Config):
        for fld in msgspec.structs.fields(section.type):
            info = msgspec.inspect.type_info(fld.type)
            while isinstance(info, msgspec.inspect.Metadata):
                info = info.type
            if isinstance(info, msgspec.inspect.ListType):
                found.add((section.name, fld.name))
    return found


def _env_value(section: str, key: str, raw: str) -> object:
    text = raw.strip()
    if text[:1] in "[{":
        try:
            return msgspec.json.decode(text)
        except msgspec.DecodeError:
            return raw
    if (section, key) in _list_fields():
        return [part.strip() for part in text.split(",") if part.strip()]
    if text.lower() in ("true", "yes", "on"):
        return True
    if text.lower() in ("false", "no", "off"):
        return False
    return raw


def env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, dict[str, object]], dict]:
    """Nested overrides from the environment, and where each came from (for error messages)."""
    overrides: dict[str, dict[str, object]] = {}
    sources: dict[tuple[str, str], str] = {}
    for name, (section, key) in LEGACY_ENV.items():
        if name in environ:
            overrides.setdefault(section, {})[key] = _env_value(section, key, environ[name])
            sources[(section, key)] = name
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2 or not all(parts):
            raise ConfigError(f"{name}: expected the form VIPER__SECTION__KEY")
        section, key = parts
        overrides.setdefault(section, {})[key] = _env_value(section, key, raw)
        sources[(section, key)] = name
    return overrides, sources


def _merge(base: dict[str, Any], overrides: dict[str, dict[str, object]]) -> dict[str, Any]:
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for section, values in overrides.items():
        target = merged.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{section}: expected a table, got a value")
        target.update(values)
    return merged


def _explain(exc: msgspec.ValidationError, sources: dict, origin: str) -> str:
    """Turn msgspec's message into 'key: problem (source)'."""
    text = str(exc)
    message, _, where = text.rpartition(" - at ")
    if not message:
        message, where = text, "$"
    path = where.strip("`").removeprefix("$").lstrip(".").replace("[", ".").replace("]", "")
    if message.startswith("Object contains unknown field"):
        unknown = message.split("`")[1]
        path = f"{path}.{unknown}" if path else unknown
        message = "unknown key"
    message = message[0].lower() + message[1:] if message else message
    parts = tuple(path.split(".")[:2])
    source = sources.get(parts, origin) if len(parts) == 2 else origin
    return f"{path or '(top level)'}: {message} (from {source})"


def parse_config(
    data: Mapping[str, Any], environ: Mapping[str, str] | None = None, origin: str = "config"
) -> Config:
    """Validate a TOML-shaped mapping, with environment overrides, into a Config."""
    overrides, sources = env_overrides(environ if environ is not None else {})
    merged = _merge(dict(data), overrides)
    try:
        config = msgspec.convert(merged, Config, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(exc, sources, origin)) from None
    return _resolve_paths(config)


def _resolve_paths(config: Config) -> Config:
    """Relative paths in the config resolve against the working directory."""
    cwd = Path.cwd()
    for section_name, key in _PATH_KEYS:
        section = getattr(config, section_name)
        value = getattr(section, key)
        if value and not Path(value).is_absolute():
            section = msgspec.structs.replace(section, **{key: str(cwd / value)})
            config = msgspec.structs.replace(config, **{section_name: section})
    return config


def load_config(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read `path` (TOML; a missing default file means all defaults) and apply the environment.

    Raises ConfigError with one line naming the key and the problem.
    """
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    origin = "defaults"
    if path is not None:
        file = Path(path)
        origin = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{file}: no such config file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: cannot read: {exc}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    return parse_config(data, environ, origin)


def to_dict(config: Config) -> dict[str, Any]:
    """The config as plain data with every secret masked."""
    result: dict[str, Any] = msgspec.to_builtins(config, enc_hook=_enc_hook)
    return result


def dump_json(config: Config) -> bytes:
    """The effective config as indented JSON, secrets masked."""
    return msgspec.json.format(msgspec.json.encode(config, enc_hook=_enc_hook), indent=2)


def config_id(config: Config | Section) -> str:
    """A stable hash of a config (secrets excluded) that keys results computed under it."""
    payload = msgspec.json.encode(
        msgspec.to_builtins(config, enc_hook=_drop_secret), order="sorted"
    )
    return hashlib.sha256(payload).hexdigest()[:16]


def section_of(config: Config, name: str) -> Section | None:
    """The config section named like a module, if the config has one."""
    value = getattr(config, name, None)
    return value if isinstance(value, Section) else None


def secret_values(config: Config) -> list[str]:
    """Every non-empty secret in the config, for the log redactor."""
    values: list[str] = []
    for section_field in msgspec.structs.fields(config):
        section = getattr(config, section_field.name)
        for fld in msgspec.structs.fields(section):
            value = getattr(section, fld.name)
            if isinstance(value, Secret) and value:
                values.append(value.reveal())
    return values
