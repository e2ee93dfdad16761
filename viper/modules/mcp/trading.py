"""The MCP tools that act on trading: pause the live engine, and place an order.

An order from MCP is a `TradeIntent` on the bus, like any other: the risk manager approves
and sizes it (an `OrderRequest`) or refuses it (`TradeRejected`), and the order module sends
what was approved. Nothing here talks to the exchange.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from viper.auth import Principal
from viper.domain import Side
from viper.errors import RejectedError, TemporaryError, ValidationError
from viper.events import OrderRequest, TradeIntent
from viper.modules.mcp.spec import Deps, ToolSpec
from viper.protocols import TradingControl, TradingStateName


class PauseArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Why trading is paused."""

    reason: Annotated[str, Meta(max_length=500, description="Why; kept in the audit")] = ""


class PlaceOrderArgs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An order for the risk manager to approve and size."""

    symbol: Annotated[str, Meta(min_length=1, description="Market, e.g. BTC/USDT:USDT")]
    side: Annotated[Side, Meta(description="buy or sell")]
    price: Annotated[float, Meta(gt=0, description="The price you expect (the last price you saw)")]
    purpose: Annotated[
        Literal["entry", "exit"],
        Meta(description="entry opens or adds to a position; exit reduces or closes one"),
    ] = "entry"
    stop_loss: Annotated[float, Meta(gt=0, description="Protective stop price")] | None = None
    take_profit: Annotated[float, Meta(gt=0, description="Take-profit price")] | None = None
    client_ref: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=64,
                description="A key of yours: calls with the same key place at most one order",
            ),
        ]
        | None
    ) = None
    confirm: Annotated[
        bool, Meta(description="Must be true: you confirm this order should really be placed")
    ] = False


class OrderOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What became of the intent: approved (with the order the risk manager sized)."""

    status: Literal["approved"]
    intent_id: str
    client_order_id: str
    symbol: str
    side: str
    order_type: str
    amount: str
    reduce_only: bool


async def pause_trading(deps: Deps, caller: Principal, args: PauseArgs) -> Any:
    control = deps.need(TradingControl, "live")
    state: TradingStateName = await control.set_trading_state(
        "paused", actor=f"mcp:{caller.name}", reason=args.reason
    )
    return {"state": state}


def intent_id_of(caller: Principal, client_ref: str | None) -> str:
    """A fresh intent id, or one fixed by the caller's own key (so retries dedupe)."""
    if client_ref is None:
        return "mcp-" + secrets.token_hex(12)
    digest = hashlib.sha256(f"{caller.token_id}\x1f{caller.name}\x1f{client_ref}".encode())
    return "mcp-" + digest.hexdigest()[:24]


async def place_order(deps: Deps, caller: Principal, args: PlaceOrderArgs) -> Any:
    """Publish the intent, then wait for the risk manager's answer to it."""
    if args.confirm is not True:
        raise ValidationError(
            "place_order needs confirm: true; repeat the call with it to really place the order",
            field="confirm",
        )
    now = deps.clock.now_ms()
    intent = TradeIntent(
        ts_ms=now,
        intent_id=intent_id_of(caller, args.client_ref),
        symbol=args.symbol,
        side=args.side,
        purpose=args.purpose,
        price=args.price,
        stop_loss=args.stop_loss,
        take_profit=args.take_profit,
        strategy="mcp",
        reason=f"mcp order by {caller.name}",
    )
    with deps.intents.expect(intent.intent_id) as answer:
        await deps.bus.publish(intent)
        try:
            outcome = await asyncio.wait_for(answer, deps.order_timeout)
        except TimeoutError:
            raise TemporaryError(
                f"no answer from the risk manager within {deps.order_timeout:g} s for intent "
                f"{intent.intent_id}; is the risk module running? The intent may still be "
                "handled: check get_positions before trying again",
                module="risk",
                intent_id=intent.intent_id,
            ) from None
    if not isinstance(outcome, OrderRequest):
        raise RejectedError(
            f"refused by the risk manager: {outcome.reason}"
            + (f" ({outcome.detail})" if outcome.detail else ""),
            reason=outcome.reason,
            intent_id=intent.intent_id,
        )
    return OrderOutcome(
        status="approved",
        intent_id=intent.intent_id,
        client_order_id=outcome.client_order_id,
        symbol=outcome.symbol,
        side=outcome.side,
        order_type=outcome.order_type,
        amount=str(outcome.amount),
        reduce_only=outcome.reduce_only,
    )


TRADING_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="pause_trading",
        title="Pause trading",
        description="Pause the live engine: no new entries; open positions keep their "
        "protective exits. A person resumes trading. Needs the 'trade' scope.",
        args=PauseArgs,
        scope="trade",
        run=pause_trading,
        read_only=False,
    ),
    ToolSpec(
        name="place_order",
        title="Place an order",
        description="Ask for a market order through the risk manager, as any order: it is "
        "approved and sized by the risk rules (from the price and the stop) or refused with "
        "a reason; this tool returns which. Set confirm: true to really place it. Needs the "
        "'trade' scope. Use client_ref to make a retry safe.",
        args=PlaceOrderArgs,
        scope="trade",
        run=place_order,
        read_only=False,
        destructive=True,
    ),
)
