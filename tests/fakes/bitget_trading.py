"""Bitget v2 USDT-M trading on the fake server: orders, plan (stop) orders, positions, account.

`FakeBitgetTrading` is `FakeBitget` plus the private endpoints the exchange module uses, answered
in the recorded shapes (shared/data/bitget/ccxt-static/response.bitget.subset.json), behind the
HMAC signature check. Like Bitget it refuses a second order with a used clientOid (code 40786).
Market orders fill at once at the symbol's price (`set_price`); limit orders rest until a test
fills them (`fill`). One-way mode, isolated margin, one net position per symbol.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from tests.fakes.bitget import (
    PUBLIC_ROUTES,
    BitgetFault,
    Call,
    Credentials,
    FakeBitget,
    Route,
    required,
)

CREDENTIALS = Credentials("fake-key", "fake-secret", "fake-passphrase")
DUPLICATE = BitgetFault("40786", "Duplicate clientOid")
NOT_FOUND_DETAIL = BitgetFault("40109", "The data of the order cannot be found")
NOT_FOUND_CANCEL = BitgetFault("40768", "Order does not exist")
NO_BALANCE = BitgetFault("40762", "The order amount exceeds the balance")
MMR, TAKER, MAKER = Decimal("0.004"), Decimal("0.0006"), Decimal("0.0002")
LIVE = ("live", "partially_filled")


def text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


class FakeBitgetTrading(FakeBitget):
    """The fake exchange with an account: orders, positions and a USDT balance."""

    def __init__(self, *, balance: Decimal = Decimal(10_000), **kwargs: Any) -> None:
        kwargs.setdefault("routes", PUBLIC_ROUTES + TRADING_ROUTES)
        kwargs.setdefault("credentials", CREDENTIALS)
        super().__init__(**kwargs)
        self.equity = balance  # cash: deposits, realized PnL and fees
        self.orders: dict[str, dict[str, Any]] = {}  # by clientOid, plan orders included
        self.positions: dict[str, dict[str, Decimal]] = {}  # by symbol id: size (signed), entry
        self.leverage: dict[str, int] = {}
        self.prices: dict[str, Decimal] = {}
        self.attempts: list[str] = []
        self._ids = itertools.count(1_100_000_000_000_000_001)

    # test helpers

    def set_price(self, symbol_id: str, price: Decimal | str) -> None:
        self.prices[symbol_id] = Decimal(price)

    def orders_for(self, client_oid: str) -> list[dict[str, Any]]:
        """Every order the book holds under `client_oid` (Bitget keeps at most one)."""
        return [o for o in self.orders.values() if o["clientOid"] == client_oid]

    def place_attempts(self) -> list[str]:
        """clientOid of every order placement that reached the book (accepted or refused)."""
        return list(self.attempts)

    def fill(
        self, client_oid: str, amount: Decimal | None = None, price: Decimal | None = None
    ) -> None:
        """Fill (part of) a resting order, as a maker at its price unless given."""
        order = self.orders[client_oid]
        left = Decimal(order["size"]) - Decimal(order["baseVolume"])
        self._execute(order, amount or left, price or Decimal(order["price"]), MAKER)

    # the book

    def price_of(self, symbol_id: str) -> Decimal:
        if symbol_id in self.prices:
            return self.prices[symbol_id]
        for (sid, _), series in self.series.items():
            if sid == symbol_id and series.rows:
                return Decimal(series.rows[-1][4])
        raise BitgetFault("40034", f"Parameter {symbol_id} does not exist")

    def margin_used(self) -> Decimal:
        used = Decimal(0)
        for sid, pos in self.positions.items():
            used += abs(pos["size"]) * pos["entry"] / self.leverage.get(sid, 10)
        return used

    def available(self) -> Decimal:
        return self.equity - self.margin_used()

    def new_order(self, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
        client_oid = str(body.get("clientOid") or next(self._ids))
        self.attempts.append(client_oid)
        if client_oid in self.orders:
            raise DUPLICATE
        symbol = required(body, "symbol")
        if symbol not in self.contracts.get(required(body, "productType").upper(), {}):
            raise BitgetFault("40034", f"Parameter {symbol} does not exist")
        now = str(self.now_ms())
        order = {
            "symbol": symbol,
            "size": required(body, "size"),
            "orderId": str(next(self._ids)),
            "clientOid": client_oid,
            "baseVolume": "0",
            "fee": "0",
            "price": body.get("price", ""),
            "priceAvg": "",
            "status": "live",
            "side": required(body, "side"),
            "force": body.get("force", "gtc"),
            "totalProfits": "0",
            "posSide": "net",
            "marginCoin": body.get("marginCoin", "USDT"),
            "presetStopSurplusPrice": "",
            "presetStopLossPrice": "",
            "quoteVolume": "0",
            "orderType": required(body, "orderType"),
            "leverage": str(self.leverage.get(symbol, 10)),
            "marginMode": body.get("marginMode", "crossed"),
            "reduceOnly": body.get("reduceOnly", "NO"),
            "enterPointSource": "API",
            "tradeSide": f"{body['side']}_single",
            "posMode": "one_way_mode",
            "orderSource": "normal",
            "cTime": now,
            "uTime": now,
            **extra,
        }
        return order

    def _execute(
        self, order: dict[str, Any], amount: Decimal, price: Decimal, rate: Decimal
    ) -> None:
        sid, side = order["symbol"], order["side"]
        change = amount if side == "buy" else -amount
        pos = self.positions.setdefault(sid, {"size": Decimal(0), "entry": price})
        if pos["size"] == 0 or (pos["size"] > 0) == (change > 0):
            total = abs(pos["size"]) + amount
            pos["entry"] = (abs(pos["size"]) * pos["entry"] + amount * price) / total
        else:
            closed = min(amount, abs(pos["size"]))
            self.equity += (price - pos["entry"]) * closed * (1 if pos["size"] > 0 else -1)
            if amount > abs(pos["size"]):
                pos["entry"] = price
        pos["size"] += change
        if pos["size"] == 0:
            del self.positions[sid]
        fee = amount * price * rate
        self.equity -= fee
        filled = Decimal(order["baseVolume"]) + amount
        cost = Decimal(order["quoteVolume"]) + amount * price
        order.update(
            baseVolume=text(filled),
            quoteVolume=text(cost),
            priceAvg=text(cost / filled),
            fee=text(Decimal(order["fee"]) - fee),
            uTime=str(self.now_ms()),
            status="filled" if filled >= Decimal(order["size"]) else "partially_filled",
        )


# --- handlers --------------------------------------------------------------------------------


def find(fake: FakeBitgetTrading, query: Any, missing: BitgetFault) -> dict[str, Any]:
    client_oid, order_id = query.get("clientOid"), query.get("orderId")
    for order in fake.orders.values():
        if (client_oid and order["clientOid"] == client_oid) or (
            order_id and order["orderId"] == order_id
        ):
            return order
    raise missing


def place_order(fake: FakeBitgetTrading, call: Call) -> dict[str, str]:
    body = call.body or {}
    order = fake.new_order(body)
    size, sid = Decimal(order["size"]), order["symbol"]
    if order["orderType"] == "limit" and not order["price"]:
        raise BitgetFault("40017", "Parameter price cannot be empty")
    price = Decimal(order["price"]) if order["orderType"] == "limit" else fake.price_of(sid)
    opening = order["reduceOnly"] != "YES"
    if opening and size * price / fake.leverage.get(sid, 10) > fake.available():
        raise NO_BALANCE
    fake.orders[order["clientOid"]] = order
    if order["orderType"] == "market":
        fake._execute(order, size, price, TAKER)
    return {"orderId": order["orderId"], "clientOid": order["clientOid"]}


def place_plan_order(fake: FakeBitgetTrading, call: Call) -> dict[str, str]:
    body = call.body or {}
    order = fake.new_order(
        body,
        planType=body.get("planType", "normal_plan"),
        triggerPrice=str(required(body, "triggerPrice")),
        triggerType=body.get("triggerType", "mark_price"),
        executePrice=body.get("executePrice", "0"),
        planStatus="live",
    )
    fake.orders[order["clientOid"]] = order
    return {"orderId": order["orderId"], "clientOid": order["clientOid"]}


def cancel_order(fake: FakeBitgetTrading, call: Call) -> dict[str, str]:
    order = find(fake, call.body or {}, NOT_FOUND_CANCEL)
    if "planType" in order or order["status"] not in LIVE:
        raise NOT_FOUND_CANCEL
    order.update(status="canceled", uTime=str(fake.now_ms()))
    return {"orderId": order["orderId"], "clientOid": order["clientOid"]}


def cancel_plan_order(fake: FakeBitgetTrading, call: Call) -> dict[str, Any]:
    done, failed = [], []
    for ref in (call.body or {}).get("orderIdList", []):
        order = next(
            (
                o
                for o in fake.orders.values()
                if "planType" in o
                and (o["clientOid"] == ref.get("clientOid") or o["orderId"] == ref.get("orderId"))
            ),
            None,
        )
        if order is None or order["planStatus"] != "live":
            failed.append({**ref, "errorMsg": "Order does not exist"})
            continue
        order.update(planStatus="cancelled", uTime=str(fake.now_ms()))
        done.append({"orderId": order["orderId"], "clientOid": order["clientOid"]})
    if not done:
        raise NOT_FOUND_CANCEL
    return {"successList": done, "failureList": failed}


def order_detail(fake: FakeBitgetTrading, call: Call) -> dict[str, Any]:
    order = find(fake, call.query, NOT_FOUND_DETAIL)
    if "planType" in order:
        raise NOT_FOUND_DETAIL
    detail = {k: v for k, v in order.items() if k != "status"}
    return {**detail, "state": order["status"]}


def pending(fake: FakeBitgetTrading, call: Call, plan: bool) -> dict[str, Any]:
    symbol = call.query.get("symbol")
    live = [
        o
        for o in fake.orders.values()
        if ("planType" in o) == plan
        and (symbol is None or o["symbol"] == symbol)
        and (o.get("planStatus") == "live" if plan else o["status"] in LIVE)
    ]
    return {"entrustedList": live, "endId": live[-1]["orderId"] if live else None}


def orders_pending(fake: FakeBitgetTrading, call: Call) -> dict[str, Any]:
    return pending(fake, call, plan=False)


def orders_plan_pending(fake: FakeBitgetTrading, call: Call) -> dict[str, Any]:
    return pending(fake, call, plan=True)


def all_positions(fake: FakeBitgetTrading, call: Call) -> list[dict[str, str]]:
    rows = []
    for sid, pos in sorted(fake.positions.items()):
        size, entry, lever = abs(pos["size"]), pos["entry"], fake.leverage.get(sid, 10)
        mark, long = fake.price_of(sid), pos["size"] > 0
        margin = size * entry / lever
        upl = (mark - entry) * pos["size"]
        rate = MMR + TAKER
        liq = (
            (entry * size - margin) / (size * (1 - rate))
            if long
            else (entry * size + margin) / (size * (1 + rate))
        )
        rows.append(
            {
                "marginCoin": "USDT",
                "symbol": sid,
                "holdSide": "long" if long else "short",
                "openDelegateSize": "0",
                "marginSize": text(margin),
                "available": text(size),
                "locked": "0",
                "total": text(size),
                "leverage": str(lever),
                "achievedProfits": "0",
                "openPriceAvg": text(entry),
                "marginMode": "isolated",
                "posMode": "one_way_mode",
                "unrealizedPL": text(upl),
                "liquidationPrice": text(liq.quantize(Decimal("0.01"))),
                "keepMarginRate": text(MMR),
                "markPrice": text(mark),
                "marginRatio": "0",
                "cTime": str(fake.now_ms()),
            }
        )
    return rows


def accounts(fake: FakeBitgetTrading, call: Call) -> list[dict[str, Any]]:
    required(call.query, "productType")
    upl = sum(
        ((fake.price_of(s) - p["entry"]) * p["size"] for s, p in fake.positions.items()), Decimal(0)
    )
    free = text(fake.available())
    return [
        {
            "marginCoin": "USDT",
            "locked": "0",
            "available": free,
            "crossedMaxAvailable": free,
            "isolatedMaxAvailable": free,
            "maxTransferOut": free,
            "accountEquity": text(fake.equity + upl),
            "usdtEquity": text(fake.equity + upl),
            "btcEquity": "0",
            "crossedRiskRate": "0",
            "unrealizedPL": text(upl),
            "coupon": "0",
            "crossedUnrealizedPL": "0",
            "isolatedUnrealizedPL": text(upl),
        }
    ]


def set_leverage(fake: FakeBitgetTrading, call: Call) -> dict[str, str]:
    body = call.body or {}
    symbol, leverage = required(body, "symbol"), int(required(body, "leverage"))
    if not 1 <= leverage <= 125:
        raise BitgetFault("40017", "Parameter leverage error")
    fake.leverage[symbol] = leverage
    return {
        "symbol": symbol,
        "marginCoin": body.get("marginCoin", "USDT"),
        "longLeverage": str(leverage),
        "shortLeverage": str(leverage),
        "crossMarginLeverage": str(leverage),
        "marginMode": "isolated",
    }


TRADING_ROUTES: tuple[Route, ...] = (
    Route("POST", "/api/v2/mix/order/place-order", place_order, private=True),
    Route("POST", "/api/v2/mix/order/place-plan-order", place_plan_order, private=True),
    Route("POST", "/api/v2/mix/order/cancel-order", cancel_order, private=True),
    Route("POST", "/api/v2/mix/order/cancel-plan-order", cancel_plan_order, private=True),
    Route("GET", "/api/v2/mix/order/detail", order_detail, private=True),
    Route("GET", "/api/v2/mix/order/orders-pending", orders_pending, private=True),
    Route("GET", "/api/v2/mix/order/orders-plan-pending", orders_plan_pending, private=True),
    Route("GET", "/api/v2/mix/position/all-position", all_positions, private=True),
    Route("GET", "/api/v2/mix/account/accounts", accounts, private=True),
    Route("POST", "/api/v2/mix/account/set-leverage", set_leverage, private=True),
)
