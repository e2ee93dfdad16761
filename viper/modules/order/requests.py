"""From an `OrderRequest` to a journal record, and what makes a request unsendable."""

from __future__ import annotations

from decimal import Decimal

from viper.events import OrderRequest
from viper.modules.order.ids import is_valid_client_order_id
from viper.modules.order.records import OrderRecord


def record_from(request: OrderRequest, client_order_id: str, now_ms: int) -> OrderRecord:
    """The `pending` journal record of a request."""
    return OrderRecord(
        client_order_id=client_order_id,
        symbol=request.symbol,
        side=request.side,
        type=request.order_type,
        amount=request.amount,
        price=request.price,
        stop_price=request.stop_price,
        reduce_only=request.reduce_only,
        post_only=request.post_only,
        intent_id=request.intent_id,
        created_ms=now_ms,
        updated_ms=now_ms,
    )


def invalid_reason(order: OrderRecord) -> str:
    """Why the exchange could never take this order; '' when it might."""
    if not is_valid_client_order_id(order.client_order_id):
        return "client_order_id: at most 50 letters, digits, '_', '-', '.' or ':'"
    if not order.amount.is_finite() or order.amount <= Decimal(0):
        return "amount: must be positive"
    if order.type == "limit" and (order.price is None or order.price <= Decimal(0)):
        return "price: a limit order needs a positive price"
    if order.type == "stop" and (order.stop_price is None or order.stop_price <= Decimal(0)):
        return "stop_price: a stop order needs a positive stop price"
    if order.price is not None and (not order.price.is_finite() or order.price <= Decimal(0)):
        return "price: must be positive"
    return ""
