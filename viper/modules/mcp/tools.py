"""The MCP tools that read (portfolio, positions, scores, risk, backtest results) and the one
that starts a backtest. Each reads another module through a core protocol, or the store."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from viper.auth import Principal
from viper.errors import NotFoundError
from viper.modules.mcp.spec import Deps, NoArgs, ToolSpec
from viper.protocols import (
    BacktestRequest,
    BacktestRunner,
    PortfolioSource,
    RiskStatusSource,
    ScoresSource,
)
from viper.store.backtests import BacktestResults

MAX_TRADES = 1_000
BACKTEST_FIELDS = {
    "symbols": 'Markets to test together, e.g. ["BTC/USDT:USDT", "ETH/USDT:USDT"]',
    "start_date": "First day (or time) tested, ISO 8601, e.g. 2024-01-01",
    "end_date": "Day (or time) the test stops, exclusive, ISO 8601",
    "initial_capital": "Starting equity in the settlement currency",
    "risk_per_trade": "Share of equity risked per trade (default: [risk] risk_per_trade)",
    "score_threshold": "VIPER score that makes a signal, 0..100 (default: [signal])",
    "strategy": "Strategy name, e.g. viper or sma_cross",
    "exchange": "Exchange whose stored candles are used (default: [exchange] id)",
    "timeframe": "Candle timeframe, e.g. 1m or 5m (default: [trading] timeframe)",
    "parameters": 'Strategy parameters by name, e.g. {"fast": 10, "slow": 50}',
    "sizing": "risk (size from the stop distance) or fixed_fraction",
}


class ScoresArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which scores to return."""

    symbol: Annotated[str, Meta(description="Only this market, e.g. BTC/USDT:USDT")] | None = None
    timeframe: Annotated[str, Meta(description="Only this timeframe, e.g. 5m")] | None = None


class ResultArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which stored backtest result to return, and how much of it."""

    id: Annotated[str, Meta(min_length=1, description="The backtest id run_backtest returned")]
    trades: Annotated[
        int, Meta(ge=0, le=MAX_TRADES, description="How many of the last trades to include")
    ] = 20
    equity_curve: Annotated[
        bool, Meta(description="Include the equity curve (long: one point per bar)")
    ] = False


async def get_portfolio(deps: Deps, caller: Principal, args: NoArgs) -> Any:
    return await deps.need(PortfolioSource, "live").portfolio()


async def get_positions(deps: Deps, caller: Principal, args: NoArgs) -> Any:
    return {"positions": await deps.need(PortfolioSource, "live").positions()}


async def get_scores(deps: Deps, caller: Principal, args: ScoresArgs) -> Any:
    return deps.need(ScoresSource, "signal").latest_scores(args.symbol, args.timeframe)


async def get_risk_status(deps: Deps, caller: Principal, args: NoArgs) -> Any:
    return deps.need(RiskStatusSource, "risk").risk_status()


async def run_backtest(deps: Deps, caller: Principal, args: BacktestRequest) -> Any:
    return await deps.need(BacktestRunner, "backtester").start(args)


async def get_backtest_result(deps: Deps, caller: Principal, args: ResultArgs) -> Any:
    """The stored result, read-only, with the last `trades` trades and no curve by default."""
    try:
        raw = await BacktestResults(deps.store).result_json(args.id)
    except sqlite3.OperationalError:  # no backtest was ever stored: no table yet
        raise NotFoundError(f"no backtest result {args.id!r}") from None
    except NotFoundError:
        raise NotFoundError(
            f"no backtest result {args.id!r} yet: a job still queued or running has none; "
            "try again after its estimated duration"
        ) from None
    result: dict[str, Any] = msgspec.json.decode(raw)
    trades = result.get("trades") or []
    result["trades"] = trades[len(trades) - args.trades :] if args.trades else []
    result["trades_included"] = len(result["trades"])
    if not args.equity_curve:
        result.pop("equity_curve", None)
    return result


READ_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="get_portfolio",
        title="Portfolio",
        description="Account equity, free margin, realized and unrealized PnL, exposure, and "
        "every open position with its mark price, PnL and protective stop/take-profit levels.",
        args=NoArgs,
        scope="read",
        run=get_portfolio,
    ),
    ToolSpec(
        name="get_positions",
        title="Open positions",
        description="Open positions only: symbol, direction, size, entry and mark price, "
        "unrealized PnL and the stop-loss, take-profit and trailing levels managed for each.",
        args=NoArgs,
        scope="read",
        run=get_positions,
    ),
    ToolSpec(
        name="get_scores",
        title="VIPER scores",
        description="The latest VIPER score (0..100) per symbol and timeframe, with its "
        "volume, price, range and external components and direction. A score at or above "
        "the threshold is a trading signal. Filter by symbol and/or timeframe.",
        args=ScoresArgs,
        scope="read",
        run=get_scores,
    ),
    ToolSpec(
        name="get_risk_status",
        title="Risk status",
        description="The risk manager's view: equity, daily PnL, drawdown, exposure, how much "
        "of each risk limit is used, whether the kill switch holds and whether new entries "
        "are allowed now.",
        args=NoArgs,
        scope="read",
        run=get_risk_status,
    ),
    ToolSpec(
        name="run_backtest",
        title="Start a backtest",
        description="Start a backtest of a strategy on stored candles, in the background. "
        "Returns the job (its id, state and estimated duration in seconds); read the outcome "
        "with get_backtest_result(id) once it is done. Dates are ISO 8601 (a plain date is "
        "midnight UTC); end_date is exclusive. Touches no money.",
        args=BacktestRequest,
        scope="read",
        run=run_backtest,
        read_only=False,
        field_docs=BACKTEST_FIELDS,
    ),
    ToolSpec(
        name="get_backtest_result",
        title="Backtest result",
        description="A stored backtest result: return, win rate, drawdown, Sharpe, Sortino, "
        "profit factor, fees, per-symbol figures, exit reasons and the last trades (the "
        "equity curve on request). Not found while the job is still running.",
        args=ResultArgs,
        scope="read",
        run=get_backtest_result,
    ),
)
