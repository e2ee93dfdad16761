"""The `viper` command: run the bot, check the config; each later capability adds a subcommand.

Exit codes: 0 done, 1 the process failed at run time (a module would not start), 2 the
command or its configuration is wrong (the message names the key). Never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from viper import __version__
from viper.cli_backtest import add_backtest_commands
from viper.cli_data import add_data_commands
from viper.cli_optimize import add_optimize_commands
from viper.cli_parity import add_parity_commands
from viper.cli_vault import add_vault_commands
from viper.config import Config, config_id, dump_json, load_config, secret_values
from viper.errors import (
    ConfigError,
    DataError,
    NotFoundError,
    RejectedError,
    ViperError,
)

DEFAULT_CONFIG = "config.toml"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A message for the person at the terminal, and the exit code that goes with it."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def read_config(path: str | None) -> Config:
    """The config from `--config` (or ./config.toml when present), env overrides applied."""
    if path is None:
        path = DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None
    try:
        return load_config(path)
    except ConfigError as exc:
        raise CliError(f"config error: {exc.detail}") from None


def _run(args: argparse.Namespace) -> int:
    from viper.app import ViperApp  # imported late: keeps `viper --help` fast
    from viper.logs import Redactor, setup_logging
    from viper.server import serve

    config = read_config(args.config)
    server = config.server
    host = args.host or server.host
    port = args.port or server.port
    redactor = Redactor(secret_values(config))
    setup_logging(config.logging, redactor, debug=server.debug)
    try:
        app = ViperApp(config, redactor=redactor)
        _event_loop_runner()(serve(app, host, port))
    except ConfigError as exc:
        raise CliError(f"config error: {exc.detail}") from None
    except ViperError as exc:
        raise CliError(exc.detail, EXIT_FAILED) from None
    return EXIT_OK


def _event_loop_runner() -> Callable[..., object]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def _config_check(args: argparse.Namespace) -> int:
    from viper.modules.registry import build_modules
    from viper.runner import start_order

    config = read_config(args.config)
    try:
        order = start_order(build_modules(config.modules.enabled), list(config.modules.enabled))
    except ConfigError as exc:
        raise CliError(f"config error: {exc.detail}") from None
    if args.quiet:
        print(f"config ok ({config_id(config)})")
        return EXIT_OK
    print(dump_json(config).decode())
    print(f"# config ok: id {config_id(config)}; modules start in order: {', '.join(order)}")
    return EXIT_OK


def _config_defaults(args: argparse.Namespace) -> int:
    from viper.config_toml import render_toml

    print(render_toml(), end="")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="viper",
        description="VIPER: a crypto-futures trading bot in one process.",
        epilog="Start with `viper run` (paper trading on a synthetic market, dashboard on "
        "http://127.0.0.1:8000/). Each command takes --config PATH (default ./config.toml).",
    )
    parser.add_argument("--version", action="version", version=f"viper {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="start the bot and its HTTP API and dashboard")
    _add_config(run)
    run.add_argument("--host", help="address to bind (default: [server] host, 127.0.0.1)")
    run.add_argument("--port", type=_port, help="HTTP port (default: [server] port, 8000)")
    run.set_defaults(handler=_run)

    config = commands.add_parser("config", help="inspect the configuration")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_commands.add_parser(
        "check", help="validate the config and print it with secrets masked"
    )
    _add_config(check)
    check.add_argument("-q", "--quiet", action="store_true", help="print only 'config ok'")
    check.set_defaults(handler=_config_check)
    defaults = config_commands.add_parser(
        "defaults", help="print a documented config.toml with every key at its default"
    )
    defaults.set_defaults(handler=_config_defaults)
    add_data_commands(commands, _add_config)
    add_parity_commands(commands, _add_config)
    add_backtest_commands(commands, _add_config)
    add_optimize_commands(commands, _add_config)
    add_vault_commands(commands, _add_config)
    return parser


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: ./config.toml when present, else built-in defaults)",
    )


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1..65535, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `viper` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if getattr(args, "with_config", False):
            code: int = handler(args, read_config(args.config))
        else:
            code = handler(args)
    except CliError as exc:
        print(f"viper: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_OK
    except (ConfigError, RejectedError, NotFoundError, DataError) as exc:  # the input is wrong
        print(f"viper: {exc.detail}", file=sys.stderr)
        return EXIT_USAGE
    except ViperError as exc:  # the world is wrong (exchange down, ...): try again later
        print(f"viper: {exc.detail}", file=sys.stderr)
        return EXIT_FAILED
    except msgspec.ValidationError as exc:  # a value that slipped past the config types
        print(f"viper: invalid value: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code
