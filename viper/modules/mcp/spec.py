"""What an MCP tool is here: a name, a description, an argument Struct (its JSON schema is
the tool's input schema), the scope it needs, and an async function of the dependencies."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from viper.auth import Principal
from viper.bus import EventBus
from viper.clock import Clock
from viper.config import Config
from viper.errors import TemporaryError
from viper.modules.base import Services
from viper.modules.mcp.intents import IntentWaiter
from viper.protocols import TokenScope
from viper.store.sqlite import Database

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Deps:
    """Everything the tools use, handed over by the module at start."""

    config: Config
    services: Services
    bus: EventBus
    clock: Clock
    store: Database
    intents: IntentWaiter
    order_timeout: float

    def need(self, protocol: type[T], module: str) -> T:
        """The provider of `protocol`; a 503-like TemporaryError naming `module` when absent."""
        impl = self.services.maybe(protocol)
        if impl is None:
            raise TemporaryError(f"the {module} module is not running", module=module)
        return impl


Run = Callable[[Deps, Principal, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One MCP tool."""

    name: str
    title: str
    description: str
    args: type[msgspec.Struct]
    scope: TokenScope
    run: Run
    read_only: bool = True
    destructive: bool = False
    field_docs: Mapping[str, str] = field(default_factory=dict)  # for Structs without them


class NoArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """This tool takes no arguments."""


def input_schema(
    args: type[msgspec.Struct], field_docs: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The JSON schema of a tool's arguments: an object, nested types under `$defs`."""
    (ref,), components = msgspec.json.schema_components((args,), ref_template="#/$defs/{name}")
    name = ref["$ref"].rsplit("/", 1)[-1]
    schema: dict[str, Any] = dict(components.pop(name))
    if "description" in schema:
        schema["description"] = inspect.cleandoc(schema["description"])
    properties = schema.setdefault("properties", {})
    for key, doc in (field_docs or {}).items():
        if key in properties:
            properties[key] = {"description": doc, **properties[key]}
    if components:
        schema["$defs"] = components
    return schema
