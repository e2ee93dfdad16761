"""Every event that crosses the bus, as frozen, tagged msgspec Structs.

Facts are past tense (`CandleClosed`), asks say so (`TradeIntent`, `OrderRequest`). Each event
has an `id` and a `ts_ms` (UTC milliseconds). `Event` is the union of them all; one decoder
for it serves the Redis backend.
"""

from __future__ import annotations

import itertools
import secrets
from decimal import Decimal
from typing import Any, Literal

import msgspec

from viper.domain import (
    Candle,
    Direction,
    ExchangeOrder,
    Fill,
    Order,
    OrderType,
    Position,
    Score,
    Side,
)

Severity = Literal["info", "warning", "critical"]
ModuleStateName = Literal["created", "starting", "running", "stopping", "stopped", "failed"]


# Ids are a random per-process prefix and a counter: unique across processes, and far
# cheaper than uuid4 on the bus's hot path. The prefix sits in the high 64 bits, so one
# integer formatted as 32 hex digits is the prefix's 16 digits and then the counter's 16.
_ID_PREFIX = secrets.token_hex(8)
_ID_BASE = int(_ID_PREFIX, 16) << 64
_id_counter = itertools.count()


def new_event_id() -> str:
    """A fresh, unique event id (32 hex characters)."""
    return "%032x" % (_ID_BASE + next(_id_counter))


class BaseEvent(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Fields every event carries."""

    ts_ms: int
    id: str = msgspec.field(default_factory=new_event_id)


class ModuleStateChanged(BaseEvent, frozen=True):
    """A module moved through its lifecycle."""

    module: str
    old: ModuleStateName
    new: ModuleStateName
    reason: str = ""


class NodeStatus(BaseEvent, frozen=True):
    """A process announces which modules it runs (a heartbeat, every `interval_seconds`)."""

    node: str
    modules: dict[str, ModuleStateName]
    interval_seconds: float


class CandleClosed(BaseEvent, frozen=True):
    """A bar closed on a symbol and timeframe."""

    exchange: str
    symbol: str
    timeframe: str
    candle: Candle


class Ticker(BaseEvent, frozen=True):
    """The latest trade price (and best bid/ask where known) of a symbol."""

    exchange: str
    symbol: str
    last: float
    bid: float | None = None
    ask: float | None = None


class MarketDataStale(BaseEvent, frozen=True):
    """No market data arrived for a symbol for longer than allowed."""

    source: str
    symbol: str
    silent_seconds: float


class MarketDataResumed(BaseEvent, frozen=True):
    """Market data flows again for a symbol after it went stale or the feed reconnected."""

    source: str
    symbol: str
    backfilled: int = 0


class ScoreComputed(BaseEvent, frozen=True):
    """The VIPER score of a symbol at a closed bar."""

    symbol: str
    timeframe: str
    score: Score


class SignalGenerated(BaseEvent, frozen=True):
    """A score crossed the threshold: a reason to trade."""

    symbol: str
    timeframe: str
    direction: Direction
    score: float
    price: float


class TradeIntent(BaseEvent, frozen=True):
    """The live engine asks the risk manager to open or close a position."""

    intent_id: str
    symbol: str
    side: Side
    purpose: Literal["entry", "exit"]
    price: float
    stop_loss: float | None = None
    take_profit: float | None = None
    strategy: str = ""
    reason: str = ""


class TradeRejected(BaseEvent, frozen=True):
    """The risk manager refused an intent; `reason` is a stable code."""

    intent_id: str
    symbol: str
    reason: str
    detail: str = ""


class OrderRequest(BaseEvent, frozen=True):
    """An approved, sized order for the order manager to journal and send."""

    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    amount: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    post_only: bool = False
    intent_id: str = ""


class ExecutionReported(BaseEvent, frozen=True):
    """The exchange (paper or real) reports an order's state, and the fill that changed it."""

    exchange: str
    order: ExchangeOrder
    fill: Fill | None = None


class OrderUpdated(BaseEvent, frozen=True):
    """An order changed state."""

    order: Order
    old_state: str = ""


class OrderFilled(BaseEvent, frozen=True):
    """An order was (partly) executed."""

    fill: Fill


class PositionChanged(BaseEvent, frozen=True):
    """A position opened, changed size or closed."""

    position: Position


class AlertRaised(BaseEvent, frozen=True):
    """Something a person should know about."""

    rule: str
    severity: Severity
    message: str
    source: str = ""


class ConfigChanged(BaseEvent, frozen=True):
    """A setting was changed at run time (audited)."""

    section: str
    key: str
    actor: str = ""


class StrategyParametersApplied(BaseEvent, frozen=True):
    """Parameters were applied to the live strategy (audited; persisted by the optimizer).

    `symbol` "*" means every symbol; `source_job` is the optimization they came from.
    """

    strategy: str
    params: dict[str, Any]
    source_job: str = ""
    actor: str = ""
    symbol: str = "*"


class SecretRotated(BaseEvent, frozen=True):
    """A vault secret's value changed: set, rotated, or deleted (`removed`); never the value.

    Whoever holds the value reads it again through `SecretStore.get(name)`.
    """

    name: str
    version: int
    removed: bool = False


class OrderStateCorrected(BaseEvent, frozen=True):
    """A reconciliation found an order the journal holds differs from the exchange.

    `order` is what the exchange says now; None means the exchange has no record of it. The
    order module applies it: the journal has one writer.
    """

    exchange: str
    client_order_id: str
    symbol: str
    order: ExchangeOrder | None = None
    reason: str = ""


class PositionDesynced(BaseEvent, frozen=True):
    """The journal's position in a symbol differs from the exchange's.

    Sizes are signed (long > 0). The order module adopts `position` (the exchange's view)
    only while its own size still equals `journal_size`, so a fill that lands meanwhile wins.
    """

    exchange: str
    symbol: str
    journal_size: Decimal
    exchange_size: Decimal
    position: Position
    action: Literal["adopted", "corrected"]


class ReconciliationDiscrepancy(BaseEvent, frozen=True):
    """One difference a reconciliation found between the journal and the exchange."""

    kind: str
    symbol: str
    detail: str
    client_order_id: str = ""
    blocking: bool = True


class ReconciliationCompleted(BaseEvent, frozen=True):
    """A reconciliation run ended; `ok` when the journal matched the exchange."""

    ok: bool
    discrepancies: int
    error: str = ""


class ExchangeConnectionChanged(BaseEvent, frozen=True):
    """The exchange became unreachable (circuit open, stream lost) or reachable again."""

    exchange: str
    connected: bool
    reason: str = ""


class KillSwitchChanged(BaseEvent, frozen=True):
    """The risk manager's kill switch tripped (flatten and halt) or a person resumed trading."""

    halted: bool
    reason: str
    actor: str = ""


class TradingStateChanged(BaseEvent, frozen=True):
    """The live engine started, paused or stopped, or entered or left reduce-only mode."""

    state: Literal["running", "paused", "stopped"]
    reduce_only: bool
    reasons: list[str] = msgspec.field(default_factory=list)


class RiskLevelsChanged(BaseEvent, frozen=True):
    """The account's equity moved against its loss limits (published by the risk manager).

    Losses are read as shares: `(day_start_equity - equity) / day_start_equity` against
    `daily_loss_limit`, `(peak_equity - equity) / peak_equity` against `max_drawdown`.
    """

    equity: float
    day_start_equity: float
    peak_equity: float
    daily_loss_limit: float
    max_drawdown: float


Event = (
    ModuleStateChanged
    | NodeStatus
    | CandleClosed
    | Ticker
    | MarketDataStale
    | MarketDataResumed
    | ScoreComputed
    | SignalGenerated
    | TradeIntent
    | TradeRejected
    | OrderRequest
    | ExecutionReported
    | OrderUpdated
    | OrderFilled
    | PositionChanged
    | AlertRaised
    | ConfigChanged
    | StrategyParametersApplied
    | SecretRotated
    | OrderStateCorrected
    | PositionDesynced
    | ReconciliationDiscrepancy
    | ReconciliationCompleted
    | ExchangeConnectionChanged
    | KillSwitchChanged
    | TradingStateChanged
    | RiskLevelsChanged
)

EVENT_TYPES: tuple[type[BaseEvent], ...] = Event.__args__
