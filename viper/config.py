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
from typing import Any

import msgspec

from viper.config_base import (
    MODULE_NAMES as MODULE_NAMES,
)
from viper.config_base import (
    AlertRuleName as AlertRuleName,
)
from viper.config_base import (
    AlertSeverity as AlertSeverity,
)
from viper.config_base import (
    ChannelName as ChannelName,
)
from viper.config_base import (
    EmailAddress as EmailAddress,
)
from viper.config_base import (
    Fraction as Fraction,
)
from viper.config_base import (
    HttpUrl as HttpUrl,
)
from viper.config_base import (
    LogLevel as LogLevel,
)
from viper.config_base import (
    ModuleName as ModuleName,
)
from viper.config_base import (
    NonNegativeInt as NonNegativeInt,
)
from viper.config_base import (
    OpenPath as OpenPath,
)
from viper.config_base import (
    Percent as Percent,
)
from viper.config_base import (
    Port as Port,
)
from viper.config_base import (
    PortOrZero as PortOrZero,
)
from viper.config_base import (
    PositiveFloat as PositiveFloat,
)
from viper.config_base import (
    PositiveInt as PositiveInt,
)
from viper.config_base import (
    RiskFraction as RiskFraction,
)
from viper.config_base import (
    Secret as Secret,
)
from viper.config_base import (
    Section as Section,
)
from viper.config_ops import (
    AlertChannel as AlertChannel,
)
from viper.config_ops import (
    AlertChannelBase as AlertChannelBase,
)
from viper.config_ops import (
    AlertsConfig as AlertsConfig,
)
from viper.config_ops import (
    DiscordChannel as DiscordChannel,
)
from viper.config_ops import (
    EmailChannel as EmailChannel,
)
from viper.config_ops import (
    LoggerConfig as LoggerConfig,
)
from viper.config_ops import (
    TelegramChannel as TelegramChannel,
)
from viper.config_ops import (
    WebhookChannel as WebhookChannel,
)
from viper.config_sections import (
    AuthConfig as AuthConfig,
)
from viper.config_sections import (
    BacktesterConfig as BacktesterConfig,
)
from viper.config_sections import (
    BusConfig as BusConfig,
)
from viper.config_sections import (
    CacheConfig as CacheConfig,
)
from viper.config_sections import (
    DataConfig as DataConfig,
)
from viper.config_sections import (
    ExchangeConfig as ExchangeConfig,
)
from viper.config_sections import (
    LiveConfig as LiveConfig,
)
from viper.config_sections import (
    LoggingConfig as LoggingConfig,
)
from viper.config_sections import (
    ModulesConfig as ModulesConfig,
)
from viper.config_sections import (
    OptimizerConfig as OptimizerConfig,
)
from viper.config_sections import (
    OrderConfig as OrderConfig,
)
from viper.config_sections import (
    RedisConfig as RedisConfig,
)
from viper.config_sections import (
    RiskConfig as RiskConfig,
)
from viper.config_sections import (
    ServerConfig as ServerConfig,
)
from viper.config_sections import (
    SignalConfig as SignalConfig,
)
from viper.config_sections import (
    StoreConfig as StoreConfig,
)
from viper.config_sections import (
    StreamerConfig as StreamerConfig,
)
from viper.config_sections import (
    SyncConfig as SyncConfig,
)
from viper.config_sections import (
    TradingConfig as TradingConfig,
)
from viper.config_sections import (
    VaultConfig as VaultConfig,
)
from viper.errors import ConfigError


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
