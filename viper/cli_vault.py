"""`viper vault ...`: secrets (set, list, rotate, delete), the master key, and API tokens.

Values are read from a hidden prompt, or from stdin with `--value-stdin`; never from the
command line, where `ps` and the shell history would keep them. A running `viper run` picks
up changes made here within a few seconds (the vault module watches the database).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from viper.clock import LiveClock
from viper.config import Config
from viper.errors import ValidationError
from viper.store.sqlite import Database
from viper.vault.keys import ENV_VAR, MasterKey, load_master_key
from viper.vault.models import SecretMeta, check_meta, check_name, check_value
from viper.vault.rotation import rotate_master
from viper.vault.store import SecretVault
from viper.vault.tokens import TokenStore

EXIT_OK = 0
T = TypeVar("T")


def add_vault_commands(commands: argparse._SubParsersAction, add_config: object) -> None:
    """Register `viper vault set | list | rotate | rotate-master | delete | token ...`."""
    vault = commands.add_parser("vault", help="manage secrets and API tokens in the vault")
    actions = vault.add_subparsers(dest="vault_command", metavar="ACTION", required=True)
    stdin_help = "read the value from standard input instead of a hidden prompt"

    set_ = actions.add_parser("set", help="store a secret (asks for the value, hidden)")
    set_.add_argument("name", help="e.g. bitget.api_key, telegram.bot_token")
    set_.add_argument("--value-stdin", action="store_true", help=stdin_help)
    set_.add_argument("--kind", help="what it is for: exchange, alert, generic (default)")
    set_.add_argument("--description", help="a note shown in listings (never the value)")
    set_.set_defaults(handler=_set, with_config=True)

    listing = actions.add_parser("list", help="list secrets: names and metadata, never values")
    listing.set_defaults(handler=_list, with_config=True)

    rotate = actions.add_parser("rotate", help="give an existing secret a new value")
    rotate.add_argument("name")
    rotate.add_argument("--value-stdin", action="store_true", help=stdin_help)
    rotate.set_defaults(handler=_rotate, with_config=True)

    master = actions.add_parser(
        "rotate-master", help="re-encrypt every secret under a new master key"
    )
    master.add_argument(
        "--new-key-stdin",
        action="store_true",
        help=f"read the new key (base64 or hex) from stdin; needed when {ENV_VAR} holds the key",
    )
    master.set_defaults(handler=_rotate_master, with_config=True)

    delete = actions.add_parser("delete", help="delete a secret")
    delete.add_argument("name")
    delete.set_defaults(handler=_delete, with_config=True)

    parsers = [set_, listing, rotate, master, delete, *_add_token_commands(actions)]
    for parser in parsers:
        add_config(parser)  # type: ignore[operator]


def _add_token_commands(actions: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:
    token = actions.add_parser("token", help="API tokens: issue, list, revoke")
    token_actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    issue = token_actions.add_parser("issue", help="issue a token (printed once)")
    issue.add_argument("--name", required=True, help="a label, e.g. dashboard or grafana")
    issue.add_argument("--scopes", required=True, help="comma-separated: read, trade, admin")
    issue.add_argument("--expires-in-days", type=int, help="lifetime in days (default: none)")
    issue.set_defaults(handler=_token_issue, with_config=True)
    listing = token_actions.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.set_defaults(handler=_token_list, with_config=True)
    revoke = token_actions.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id")
    revoke.set_defaults(handler=_token_revoke, with_config=True)
    return [issue, listing, revoke]


@contextlib.asynccontextmanager
async def _opened(config: Config) -> AsyncIterator[SecretVault]:
    """The vault of this config, opened like the vault module opens it."""
    db = Database(config.store.database)
    await db.open()
    try:
        yield await SecretVault.open(db, load_master_key(config.vault, os.environ), LiveClock())
    finally:
        await db.close()


def _with_vault(config: Config, action: Callable[[SecretVault], Awaitable[T]]) -> T:
    async def run() -> T:
        async with _opened(config) as vault:
            return await action(vault)

    return asyncio.run(run())


def read_secret(from_stdin: bool, prompt: str) -> str:
    """A value from stdin (one trailing newline dropped) or a hidden prompt; validated."""
    if from_stdin:
        value = sys.stdin.read()
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
    else:
        value = getpass.getpass(prompt)
    return check_value(value)


def _when(ts_ms: int | None) -> str:
    if ts_ms is None:
        return "-"
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _set(args: argparse.Namespace, config: Config) -> int:
    name = check_name(args.name)
    meta: SecretMeta | None = None
    if args.kind is not None or args.description is not None:
        meta = check_meta(args.kind or "generic", args.description or "")
    value = read_secret(args.value_stdin, f"value of {name} (hidden): ")
    info, created = _with_vault(config, lambda v: v.set(name, value, meta))
    print(f"{'stored' if created else 'updated'} {info.name} (version {info.version})")
    return EXIT_OK


def _list(args: argparse.Namespace, config: Config) -> int:
    found = _with_vault(config, lambda v: v.listing())
    if not found:
        print("no secrets in the vault")
        return EXIT_OK
    print(f"{'name':<32} {'ver':>4} {'kind':<10} {'created':<16} {'rotated':<16} description")
    for s in found:
        line = f"{s.name:<32} {s.version:>4} {s.kind:<10} {_when(s.created_ms):<16} "
        print(f"{line}{_when(s.rotated_ms):<16} {s.description}")
    return EXIT_OK


def _rotate(args: argparse.Namespace, config: Config) -> int:
    name = check_name(args.name)
    value = read_secret(args.value_stdin, f"new value of {name} (hidden): ")
    info = _with_vault(config, lambda v: v.rotate(name, value))
    print(f"rotated {info.name} to version {info.version}")
    return EXIT_OK


def _rotate_master(args: argparse.Namespace, config: Config) -> int:
    new_key: MasterKey | None = None
    if args.new_key_stdin:
        new_key = MasterKey.parse(sys.stdin.read())
        if new_key is None:
            raise ValidationError("new key: expected 32 bytes as base64 or hex", field="key")

    async def rotate(vault: SecretVault) -> tuple[int, str]:
        if vault.source == "env" and new_key is None:
            raise ValidationError(
                f"{ENV_VAR} holds the master key: give the new one with --new-key-stdin "
                "(make one with `openssl rand -base64 32`)",
                field="key",
            )
        return await rotate_master(vault, new_key), vault.source

    count, source = _with_vault(config, rotate)
    print(f"re-encrypted {count} secrets under the new master key")
    if source == "env":
        print(f"set {ENV_VAR} to the new key before the next start")
    else:
        print(f"{config.vault.key_file} now holds the new key")
    return EXIT_OK


def _delete(args: argparse.Namespace, config: Config) -> int:
    name = check_name(args.name)
    info = _with_vault(config, lambda v: v.delete(name))
    print(f"deleted {info.name}")
    return EXIT_OK


def _tokens(vault: SecretVault) -> TokenStore:
    return TokenStore(vault.db, vault.pepper, LiveClock())


def _token_issue(args: argparse.Namespace, config: Config) -> int:
    scopes = args.scopes.split(",")
    issued = _with_vault(
        config, lambda v: _tokens(v).issue(args.name, scopes, args.expires_in_days)
    )
    expiry = f", expires {_when(issued.expires_ms)}" if issued.expires_ms else ""
    print(
        f"token {issued.id} ({issued.name}, scopes {','.join(issued.scopes)}{expiry}); "
        "shown once, store it now:",
        file=sys.stderr,
    )
    print(issued.token)
    return EXIT_OK


def _token_list(args: argparse.Namespace, config: Config) -> int:
    found = _with_vault(config, lambda v: _tokens(v).listing())
    now = LiveClock().now_ms()
    if not found:
        print("no tokens")
        return EXIT_OK
    print(f"{'id':<16} {'name':<20} {'scopes':<16} {'created':<16} {'last used':<16} state")
    for t in found:
        state = _token_state(t.revoked_ms, t.expires_ms, now)
        line = f"{t.id:<16} {t.name:<20} {','.join(t.scopes):<16} {_when(t.created_ms):<16} "
        print(f"{line}{_when(t.last_used_ms):<16} {state}")
    return EXIT_OK


def _token_state(revoked_ms: int | None, expires_ms: int | None, now_ms: int) -> str:
    if revoked_ms is not None:
        return f"revoked {_when(revoked_ms)}"
    if expires_ms is None:
        return "active"
    return (
        f"expired {_when(expires_ms)}" if expires_ms <= now_ms else f"expires {_when(expires_ms)}"
    )


def _token_revoke(args: argparse.Namespace, config: Config) -> int:
    info = _with_vault(config, lambda v: _tokens(v).revoke(args.id))
    print(f"revoked {info.id} ({info.name})")
    return EXIT_OK
