"""Narrow protocols the core declares and `app.py` wires to whichever module provides them.

Modules never import each other; a module that needs another's capability asks
`ctx.services` for one of these.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

import msgspec
from msgspec import Meta

from viper.domain import Balance, ExchangeOrder, MarketInfo, OrderType, Position, Side
from viper.events import OrderRequest, TradeIntent
from viper.runner import ModuleStatus

if TYPE_CHECKING:
    import polars as pl


class StatusSource(Protocol):
    """The runner's view of every module (provided by the app itself)."""

    @property
    def node(self) -> str:
        """This process's name on the bus: host:pid."""
        ...

    def services_status(self) -> list[ModuleStatus]:
        """Every known module with its enabled flag, state and health."""
        ...


class CandleSource(Protocol):
    """Stored candles by exchange, symbol and timeframe (provided by the data module).

    Frames have the store's schema: `timestamp` (int64 ms UTC, bar open), `open`, `high`,
    `low`, `close`, `volume` (float64), sorted by timestamp without duplicates.
    """

    async def candles(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> pl.DataFrame:
        """Candles with `start_ms <= timestamp < end_ms` (open bounds when None)."""
        ...


class Exchange(Protocol):
    """An exchange account (paper or real) as the order, risk and sync modules use it.

    Orders are addressed by VIPER's client order id, so a retry or a restart can ask the
    exchange whether an order exists before sending it again. Errors are viper.errors types:
    TemporaryError (retry), RejectedError (the exchange refused), NotFoundError, AuthError.
    State changes are also published as `ExecutionReported` events by the provider.
    """

    @property
    def id(self) -> str:
        """The exchange id ("paper", "bitget", ...)."""
        ...

    async def markets(self) -> dict[str, MarketInfo]:
        """Tradable markets by symbol."""
        ...

    async def create_order(
        self,
        *,
        client_order_id: str,
        symbol: str,
        side: Side,
        type: OrderType,
        amount: Decimal,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
    ) -> ExchangeOrder:
        """Place an order; sending the same client order id twice never makes two orders."""
        ...

    async def cancel_order(self, client_order_id: str, symbol: str) -> ExchangeOrder:
        """Cancel an open order."""
        ...

    async def fetch_order(self, client_order_id: str, symbol: str) -> ExchangeOrder | None:
        """The order with this client id, or None when the exchange never received it."""
        ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Orders still open."""
        ...

    async def fetch_positions(self) -> list[Position]:
        """Open positions."""
        ...

    async def fetch_balance(self) -> Balance:
        """The settlement-currency balance."""
        ...

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set the leverage used for new positions in `symbol`."""
        ...


class SecretRedactor(Protocol):
    """Hides secret values from every log sink (provided by the app: the CLI's log Redactor)."""

    def add(self, *secrets: str) -> None:
        """Mask these values in every log record from now on."""
        ...


class SecretStore(Protocol):
    """Named secrets from the vault (provided by the vault module).

    `get` is async: it reads the sealed row and decrypts it on every call, so a rotated value
    is seen at once. Every change (set, rotate, delete; through the API, or by `viper vault`
    in another process) is announced as a `SecretRotated(name, version)` event, which never
    carries the value: a holder of a value reads it again then.
    """

    async def get(self, name: str) -> str | None:
        """The current value of `name`, or None when the vault has no such secret."""
        ...


TokenScope = Literal["read", "trade", "admin"]
# Each scope includes the ones before it: admin may trade, and trade may read.
SCOPE_RANK: dict[str, int] = {"read": 1, "trade": 2, "admin": 3}


class TokenInfo(msgspec.Struct, frozen=True, kw_only=True):
    """An API token as the vault describes it: never the token itself."""

    id: str
    name: str
    scopes: list[TokenScope]
    created_ms: int
    expires_ms: int | None = None
    last_used_ms: int | None = None
    revoked_ms: int | None = None

    def allows(self, scope: TokenScope) -> bool:
        """True when one of the token's scopes includes `scope`."""
        return max((SCOPE_RANK[s] for s in self.scopes), default=0) >= SCOPE_RANK[scope]


class TokenVerifier(Protocol):
    """Checks API tokens (provided by the vault module)."""

    async def verify(self, token: str) -> TokenInfo:
        """The token's info; AuthError with a `reason`: malformed, unknown, expired, revoked."""
        ...


class TradingGate(Protocol):
    """Whether new entries may be sent now (provided by the sync module; risk asks it).

    Trading fails closed: after a start or an exchange reconnect the answer is
    `(False, reason)` until a reconciliation with the exchange has passed.
    """

    def entries_allowed(self) -> tuple[bool, str]:
        """`(True, "")` when entries may go out, else `(False, why not)`."""
        ...


class BacktestRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A backtest as the original API asks for one (`POST /api/backtest/start`).

    Dates are ISO 8601 (a plain date is midnight UTC); `end_date` is exclusive. Unset
    `risk_per_trade` and `score_threshold` come from `[risk]` and `[signal]`; `sizing` unset
    means risk sizing when the strategy sets stops, else all equity at 1x.
    """

    symbols: Annotated[list[str], Meta(min_length=1, max_length=50)]
    start_date: str
    end_date: str
    initial_capital: Annotated[float, Meta(gt=0)] = 10_000.0
    risk_per_trade: Annotated[float, Meta(gt=0, le=0.1)] | None = None
    score_threshold: Annotated[float, Meta(ge=0, le=100)] | None = None
    strategy: str = "viper"
    exchange: str | None = None
    timeframe: str | None = None
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)
    sizing: Literal["risk", "fixed_fraction"] | None = None


BacktestState = Literal["queued", "running", "done", "failed", "cancelled"]


class BacktestJob(msgspec.Struct, kw_only=True):
    """A backtest job and where it stands; `result_id` is set once its result is stored."""

    id: str
    state: BacktestState
    progress: float = 0.0
    eta_seconds: float | None = None
    estimated_duration_seconds: float = 0.0
    created_ms: int
    started_ms: int | None = None
    finished_ms: int | None = None
    strategy: str
    symbols: list[str]
    exchange: str
    timeframe: str
    start_ms: int
    end_ms: int
    bars: int = 0
    worker_pid: int | None = None
    result_id: str | None = None
    error: str = ""
    field: str | None = None


class BacktestRunner(Protocol):
    """Starts backtests in the background (provided by the backtester module)."""

    async def start(self, request: BacktestRequest) -> BacktestJob:
        """Validate `request` (ValidationError naming the field; nothing is queued) and queue it."""
        ...


class RiskGate(Protocol):
    """The pre-trade gate, asked directly (provided by the risk module).

    Intents normally reach the risk manager as `TradeIntent` events; a caller that must know
    the answer at once (a manual order over HTTP) asks here instead.
    """

    async def place(
        self, intent: TradeIntent, *, amount: Decimal | None = None, leverage: int | None = None
    ) -> OrderRequest:
        """Check `intent` (sized by the risk rules when `amount` is None), publish and return
        its `OrderRequest`; RiskError (with `reason`) or ValidationError when refused."""
        ...


class LimitUse(msgspec.Struct, frozen=True, kw_only=True):
    """One risk limit: its value, how much of it is used, and that as a fraction."""

    limit: float
    used: float
    fraction: float


class RiskStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The risk manager's view of the account and its limits (`/api/risk/status`)."""

    equity: float
    peak_equity: float
    day_start_equity: float
    daily_pnl: float
    drawdown: float
    exposure: float
    open_positions: int
    pending_entries: int
    limits: dict[str, LimitUse]
    halted: bool
    halt_reason: str = ""
    halted_since_ms: int | None = None
    daily_blocked: bool = False
    entries_allowed: bool = False
    gate_reason: str = ""
    updated_ms: int = 0


class RiskStatusSource(Protocol):
    """Reads the risk manager's status (provided by the risk module)."""

    def risk_status(self) -> RiskStatus:
        """The current status, from cached account data (no exchange call)."""
        ...


class PositionView(msgspec.Struct, frozen=True, kw_only=True):
    """An open position with its mark, PnL and the protective levels the engine manages."""

    symbol: str
    direction: Literal["long", "short"]
    size: Decimal
    entry_price: Decimal
    mark_price: float | None = None
    notional: float = 0.0
    unrealized_pnl: float = 0.0
    realized_pnl: float = 0.0
    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_stop: float | None = None
    opened_ms: int = 0
    managed: bool = False


class Portfolio(msgspec.Struct, frozen=True, kw_only=True):
    """Equity, realized and unrealized PnL, and every open position."""

    equity: float
    free_margin: float
    realized_pnl: float
    unrealized_pnl: float
    exposure: float
    positions: list[PositionView]
    updated_ms: int = 0


class PortfolioSource(Protocol):
    """The portfolio as the live engine sees it (provided by the live module)."""

    async def portfolio(self) -> Portfolio:
        """Equity and PnL with every open position."""
        ...

    async def positions(self) -> list[PositionView]:
        """Open positions only."""
        ...


class TradeCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Closed trades since the process started; a trade is a position closed."""

    total: int
    wins: int
    losses: int
    realized_pnl: float
    by_symbol: dict[str, dict[str, int]]  # symbol -> entry side (buy/sell) -> trades


class RequestFigures(msgspec.Struct, frozen=True, kw_only=True):
    """HTTP requests served: all of them, the 5xx among them, and the recent rate."""

    total: int
    server_errors: int
    per_second: float  # over about the last minute (since start on the first read)


class BusFigures(msgspec.Struct, frozen=True, kw_only=True):
    """The event bus: events published, waiting, dropped and failed."""

    published: int
    queue_depth: int  # events waiting, every subscriber together
    max_queue_depth: int  # the deepest single subscriber queue
    dropped: int
    handler_failures: int


class MetricsSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The process at a glance (`/monitoring/metrics`, `/api/metrics`): Prometheus's figures."""

    ts_ms: int
    trades: TradeCounts
    win_rate: float | None  # share of closed trades with a positive PnL; None before the first
    risk_score: float | None  # 0..100, the most used risk limit; None without the risk module
    memory_bytes: int
    requests: RequestFigures
    bus: BusFigures
    modules: dict[str, str]  # enabled module -> state
    orders: dict[str, int]  # order state -> orders seen in it now (final states: since start)
    jobs: dict[str, dict[str, int]]  # job kind (backtest, optimize) -> state -> jobs


class MetricsSummarySource(Protocol):
    """The metrics summary (provided by the monitoring module)."""

    def metrics_summary(self) -> MetricsSummary:
        """Figures read now, as a scrape of `/metrics` would see them."""
        ...


class ExchangeCallObserver(Protocol):
    """Records calls to an exchange's API (provided by the monitoring module).

    The exchange module reports each call's duration, and the error code when it failed,
    through `services.maybe(ExchangeCallObserver)`, so metrics exist only when monitoring runs.
    """

    def observe_call(self, exchange: str, action: str, seconds: float, error: str = "") -> None:
        """One call of `action` (create_order, fetch_balance, ...) that took `seconds`."""
        ...


class ScoresSource(Protocol):
    """The latest VIPER scores (provided by the signal module)."""

    def latest_scores(self, symbol: str | None, timeframe: str | None) -> msgspec.Struct:
        """The newest score per symbol and timeframe (optionally of one), with the threshold."""
        ...


class AlertsSource(Protocol):
    """The alert history (provided by the alerts module)."""

    async def recent_alerts(self, limit: int) -> msgspec.Struct:
        """The newest `limit` alerts, newest first, with the total count."""
        ...


TradingStateName = Literal["running", "paused", "stopped"]


class TradingControl(Protocol):
    """Starts, pauses and stops the live engine (provided by the live module).

    Paused: no new entries; open positions keep their protective exits.
    """

    async def set_trading_state(
        self, state: TradingStateName, *, actor: str, reason: str = ""
    ) -> TradingStateName:
        """Move the engine to `state`; returns the state now in force."""
        ...
