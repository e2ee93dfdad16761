"""Renders a config as documented TOML: every key with its description and value.

`config.toml` at the repository root is this rendering of the defaults (a test keeps them
equal), and `viper config defaults` prints it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from viper.config import Config, Secret

HEADER = """\
# VIPER configuration. Every key is listed with its default; delete what you do not change.
# Unknown keys are errors. Environment variables override this file:
#   the original names (BITGET_API_KEY, BITGET_API_SECRET, BITGET_API_PASSWORD, RISK_PER_TRADE,
#   MAX_LEVERAGE, VIPER_THRESHOLD, API_SERVER_PORT, BACKTEST_WORKERS, CACHE_TTL_SECONDS,
#   LOG_LEVEL, DEBUG_MODE) and VIPER__SECTION__KEY for any key (VIPER__SERVER__PORT=9000).
# Relative paths resolve against the working directory. `viper config check` validates a file.
"""


def _value(value: Any) -> str:
    if isinstance(value, Secret):
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return msgspec.json.encode(value).decode()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__}")


def _description(tp: Any) -> str:
    info = msgspec.inspect.type_info(tp)
    while isinstance(info, msgspec.inspect.Metadata):
        extra = info.extra_json_schema or {}
        if "description" in extra:
            return str(extra["description"])
        info = info.type
    return ""


def render_toml(config: Config | None = None) -> str:
    """Documented TOML for `config` (the defaults when None); secrets render empty."""
    config = config or Config()
    lines = [HEADER]
    for section in msgspec.structs.fields(Config):
        value = getattr(config, section.name)
        lines.append(f"[{section.name}]")
        for fld in msgspec.structs.fields(section.type):
            doc = _description(fld.type)
            if doc:
                lines.append(f"# {doc}")
            lines.append(f"{fld.name} = {_value(getattr(value, fld.name))}")
        lines.append("")
    return "\n".join(lines)
