"""Routes of the vault module: credentials (names and metadata, never values) and API tokens.

A secret's value goes in (set, rotate) and never comes back out: no response, error or log
line repeats it. A token is shown once, in the answer that issues it.
"""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.http import ApiRoute, json_response, module_of, read_json
from viper.modules.vault.service import VaultService
from viper.protocols import TokenInfo, TokenScope
from viper.vault.models import (
    Description,
    IssuedToken,
    SecretInfo,
    SecretKind,
    SecretMeta,
    SecretName,
    SecretValue,
    check_meta,
    check_name,
)
from viper.vault.tokens import MAX_EXPIRY_DAYS


@runtime_checkable
class VaultView(Protocol):
    """What these handlers need of the vault module."""

    @property
    def service(self) -> VaultService: ...


class SetSecret(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A secret to store; an existing name gets a new version (metadata kept unless given)."""

    name: SecretName
    value: SecretValue
    kind: SecretKind | None = None
    description: Description | None = None

    def __repr__(self) -> str:
        return f"SetSecret(name={self.name!r}, value='***')"


class RotateSecret(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The new value of an existing secret."""

    value: SecretValue

    def __repr__(self) -> str:
        return "RotateSecret(value='***')"


class IssueToken(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A token to issue: a label, its scopes, and an optional lifetime."""

    name: Annotated[str, Meta(min_length=1, max_length=64)]
    scopes: Annotated[list[TokenScope], Meta(min_length=1)]
    expires_in_days: Annotated[int, Meta(ge=1, le=MAX_EXPIRY_DAYS)] | None = None


class SecretList(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    credentials: list[SecretInfo]


class SecretDeleted(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    version: int
    deleted: bool = True


class TokenList(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    tokens: list[TokenInfo]


def _meta(body: SetSecret) -> SecretMeta | None:
    if body.kind is None and body.description is None:
        return None
    return check_meta(body.kind or "generic", body.description or "")


async def list_credentials(request: Request) -> Response:
    """Stored credentials: names, versions, metadata and times; never a value."""
    found = await module_of(request, VaultView).service.list_secrets()
    return json_response(SecretList(count=len(found), credentials=found))


async def set_credential(request: Request) -> Response:
    """Store a secret (201 when new, 200 for a new version); the value is never echoed."""
    body = await read_json(request, SetSecret)
    service = module_of(request, VaultView).service
    info, created = await service.set(body.name, body.value, _meta(body))
    return json_response(info, status_code=201 if created else 200)


async def delete_credential(request: Request) -> Response:
    """Delete a secret for good."""
    name = check_name(request.path_params["name"])
    info = await module_of(request, VaultView).service.delete(name)
    return json_response(SecretDeleted(name=info.name, version=info.version))


async def rotate_credential(request: Request) -> Response:
    """Give an existing secret a new value; holders are told through `SecretRotated`."""
    name = check_name(request.path_params["name"])
    body = await read_json(request, RotateSecret)
    return json_response(await module_of(request, VaultView).service.rotate(name, body.value))


async def list_tokens(request: Request) -> Response:
    """API tokens with their scopes, times and state; never the token."""
    found = await module_of(request, VaultView).service.list_tokens()
    return json_response(TokenList(count=len(found), tokens=found))


async def issue_token(request: Request) -> Response:
    """Issue a token; the answer is the only place it is ever shown."""
    body = await read_json(request, IssueToken)
    service = module_of(request, VaultView).service
    issued = await service.issue_token(body.name, list(body.scopes), body.expires_in_days)
    return json_response(issued, status_code=201)


async def revoke_token(request: Request) -> Response:
    """Revoke a token for good."""
    service = module_of(request, VaultView).service
    return json_response(await service.revoke_token(request.path_params["token_id"]))


routes: list[BaseRoute] = [
    ApiRoute("/credentials", list_credentials, response=SecretList),
    ApiRoute(
        "/credentials",
        set_credential,
        methods=["POST"],
        body=SetSecret,
        response=SecretInfo,
        status_code=201,
    ),
    ApiRoute("/credentials/{name}", delete_credential, methods=["DELETE"], response=SecretDeleted),
    ApiRoute(
        "/credentials/{name}/rotate",
        rotate_credential,
        methods=["POST"],
        body=RotateSecret,
        response=SecretInfo,
    ),
    ApiRoute("/tokens", list_tokens, response=TokenList),
    ApiRoute(
        "/tokens",
        issue_token,
        methods=["POST"],
        body=IssueToken,
        response=IssuedToken,
        status_code=201,
    ),
    ApiRoute("/tokens/{token_id}", revoke_token, methods=["DELETE"], response=TokenInfo),
]
