"""The paper exchange's matching engine: orders in, market data in, fills and reports out.

Synchronous and free of I/O, so tests and the backtester drive it directly. Time is market
time: the latest event timestamp seen, never the wall clock. Every command returns after its
effects are recorded in the pending `Step`, which the caller persists and publishes.
"""

from __future__ import annotations

from decimal import Decimal

from viper.domain import Balance, Candle, Fill, MarketInfo, Position
from viper.errors import (
    ExchangeRejectedError,
    MarketNotFoundError,
    OrderNotFoundError,
    PostOnlyRejectedError,
    ReduceOnlyRejectedError,
)
from viper.modules.exchange.ledger import Ledger, liquidation_price
from viper.modules.exchange.markets import DEFAULT_MARKETS, guess_market
from viper.modules.exchange.matching import (
    dec,
    funding_times,
    marketable,
    share_bar_volume,
    stop_fill_on_bar,
    taker_price,
    would_take,
)
from viper.modules.exchange.orders import Liquidity, Step, StepRecorder, check_order
from viper.modules.exchange.state import (
    ZERO,
    FundingPayment,
    NewOrder,
    PaperAccount,
    PaperOrder,
    PaperPosition,
    PaperSettings,
    Quote,
    SymbolState,
)


class PaperEngine:
    """Orders, positions and the wallet of one paper account, matched against market data."""

    def __init__(
        self,
        settings: PaperSettings,
        *,
        account: PaperAccount | None = None,
        orders: list[PaperOrder] | None = None,
        positions: list[PaperPosition] | None = None,
        symbols: list[SymbolState] | None = None,
    ) -> None:
        self.settings = settings
        self.account = account or PaperAccount(currency=settings.currency, wallet=settings.balance)
        self.orders = {o.client_order_id: o for o in orders or []}
        # The open ones, in creation order: scans skip the done orders (pruned as found).
        self._open = {cid: o for cid, o in self.orders.items() if o.is_open}
        self.ledger = Ledger(self.account, {p.symbol: p for p in positions or []})
        self.symbols = {s.market.symbol: s for s in symbols or []}
        for symbol, market in DEFAULT_MARKETS.items():
            if symbol not in self.symbols:
                self.symbols[symbol] = SymbolState(
                    market=market, leverage=settings.default_leverage
                )
        self.step = StepRecorder(self.account)

    # --- queries -------------------------------------------------------------------------

    @property
    def now_ms(self) -> int:
        return self.account.now_ms

    def markets(self) -> dict[str, MarketInfo]:
        return {symbol: state.market for symbol, state in self.symbols.items()}

    def order(self, client_order_id: str) -> PaperOrder | None:
        return self.orders.get(client_order_id)

    def _live_orders(self) -> list[PaperOrder]:
        """The open orders, oldest first (done ones leave the index here)."""
        done = [cid for cid, o in self._open.items() if not o.is_open]
        for cid in done:
            del self._open[cid]
        return list(self._open.values())

    def _add(self, order: PaperOrder) -> None:
        self.orders[order.client_order_id] = order
        if order.is_open:
            self._open[order.client_order_id] = order

    def open_orders(self, symbol: str | None = None) -> list[PaperOrder]:
        return [o for o in self._live_orders() if symbol is None or o.symbol == symbol]

    def reserved(self) -> Decimal:
        """Margin held for open orders."""
        return sum((o.reserved for o in self._live_orders()), ZERO)

    def marks(self) -> dict[str, Decimal]:
        return {s: st.quote.last for s, st in self.symbols.items() if st.quote is not None}

    def balance(self) -> Balance:
        return self.ledger.balance(self.marks(), self.reserved())

    def positions(self) -> list[Position]:
        marks = self.marks()
        return [
            self.ledger.view(p, self.symbols[s].market, marks.get(s))
            for s, p in sorted(self.ledger.positions.items())
        ]

    def take_step(self) -> Step:
        """What changed since the last call (for the store and the bus); starts a new step."""
        return self.step.take()

    # --- commands ------------------------------------------------------------------------

    def place(self, new: NewOrder) -> PaperOrder:
        """Accept an order (or return the one already placed under its client id)."""
        existing = self.orders.get(new.client_order_id)
        if existing is not None:
            return existing
        state = self._known(new.symbol)
        quote = state.quote
        if new.reduce_only and self._reducible(new) == 0:
            raise ReduceOnlyRejectedError(
                f"reduce-only {new.side} on {new.symbol} would not reduce a position"
            )
        if new.post_only and new.price is not None and would_take(new.side, new.price, quote):
            raise PostOnlyRejectedError(f"post-only {new.side} at {new.price} would take liquidity")
        reference = self._reference_price(new, quote)
        check_order(new, state.market, reference)
        opening = (
            ZERO
            if new.reduce_only
            else self.ledger.opening_amount(new.symbol, new.side, new.amount)
        )
        needed = opening * reference * (Decimal(1) / state.leverage + state.market.taker_fee)
        self.ledger.check_margin(needed, self.reserved(), f"order {new.client_order_id}")
        order = self._register(new, reserved=needed if new.type == "limit" else ZERO)
        self._execute_on_arrival(order, quote)
        return order

    def cancel(self, client_order_id: str) -> PaperOrder:
        """Cancel an open order; an order already done is returned as it is."""
        order = self.orders.get(client_order_id)
        if order is None:
            raise OrderNotFoundError(
                f"no order {client_order_id!r}", client_order_id=client_order_id
            )
        if order.is_open:
            self._finish(order, "canceled")
        return order

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """Leverage for new exposure in `symbol`; an open position is re-margined at once."""
        state = self._known(symbol)
        if not 1 <= leverage <= state.market.max_leverage:
            raise ExchangeRejectedError(
                f"leverage {leverage} is outside 1..{state.market.max_leverage} for {symbol}",
                field="leverage",
            )
        self.ledger.relever(symbol, leverage, self.reserved())
        state.leverage = leverage
        self.step.symbol(state)
        self.step.position(symbol, self.ledger.positions.get(symbol))

    def set_funding_rate(self, symbol: str, rate: Decimal | None) -> None:
        """The funding rate per interval for `symbol` (None: the default)."""
        state = self._known(symbol)
        state.funding_rate = rate
        self.step.symbol(state)

    def on_tick(
        self, symbol: str, last: float, bid: float | None, ask: float | None, ts_ms: int
    ) -> None:
        """A trade price: settle funding due, trigger stops, check liquidation."""
        self._advance(ts_ms)
        state = self._seen(symbol, last)
        state.quote = Quote(
            last=dec(last),
            bid=dec(bid) if bid is not None else None,
            ask=dec(ask) if ask is not None else None,
            ts_ms=ts_ms,
        )
        self.step.symbol(state)
        for order in self._open_of(symbol, "stop"):
            if marketable(order, state.quote):
                self._fill(order, order.remaining, taker_price(order.side, state.quote), "taker")
        self._check_liquidation(symbol, state.quote.last, state.quote.last)

    def on_candle(self, symbol: str, timeframe: str, candle: Candle, ts_ms: int) -> None:
        """A closed bar: settle funding due, fill stops and resting limits, check liquidation."""
        if timeframe != self.settings.timeframe:
            return
        self._advance(ts_ms)
        state = self._seen(symbol, candle.close)
        for order in self._open_of(symbol, "stop"):
            price = stop_fill_on_bar(order, candle)
            if price is not None:
                self._fill(order, order.remaining, price, "taker")
        limits = self._open_of(symbol, "limit")
        step = state.market.amount_step
        for order, amount in list(
            share_bar_volume(limits, candle, self.settings.volume_share, step)
        ):
            self._fill(order, amount, order.price or ZERO, "maker")
        state.quote = Quote(last=dec(candle.close), ts_ms=ts_ms)
        self.step.symbol(state)
        self._check_liquidation(symbol, dec(candle.low), dec(candle.high))

    # --- internals -----------------------------------------------------------------------

    def _known(self, symbol: str) -> SymbolState:
        state = self.symbols.get(symbol)
        if state is None:
            raise MarketNotFoundError(
                f"paper has no market {symbol!r}", field="symbol", symbol=symbol
            )
        return state

    def _seen(self, symbol: str, price: float) -> SymbolState:
        """The symbol's state; a symbol first seen in market data gets a guessed market."""
        state = self.symbols.get(symbol)
        if state is None:
            market = guess_market(symbol, price)
            state = SymbolState(market=market, leverage=self.settings.default_leverage)
            self.symbols[symbol] = state
            self.step.symbol(state)
        return state

    def _open_of(self, symbol: str, kind: str) -> list[PaperOrder]:
        return [o for o in self._live_orders() if o.symbol == symbol and o.type == kind]

    def _reducible(self, new: NewOrder | PaperOrder) -> Decimal:
        """How much of a reduce-only order's side the position lets it close."""
        position = self.ledger.positions.get(new.symbol)
        if position is None or (position.size > 0) == (new.side == "buy"):
            return ZERO
        return abs(position.size)

    def _reference_price(self, new: NewOrder, quote: Quote | None) -> Decimal:
        """The price an order's margin is reckoned at (a missing one fails `check_order`)."""
        if new.type == "limit":
            return new.price or ZERO
        if new.type == "stop":
            return new.stop_price or ZERO
        if quote is None:
            raise ExchangeRejectedError(f"no market price for {new.symbol} yet", symbol=new.symbol)
        return taker_price(new.side, quote)

    def _register(self, new: NewOrder, reserved: Decimal) -> PaperOrder:
        self.account.order_seq += 1
        seq = self.account.order_seq
        order = PaperOrder(
            **{f: getattr(new, f) for f in new.__struct_fields__},
            exchange_order_id=f"paper-{seq}",
            reserved=reserved,
            seq=seq,
            created_ms=self.now_ms,
            updated_ms=self.now_ms,
        )
        self._add(order)
        self.step.report(order, None)
        return order

    def _execute_on_arrival(self, order: PaperOrder, quote: Quote | None) -> None:
        """A market order, a marketable limit or an already reached stop trades at once."""
        if quote is None:
            return  # only limits and stops get here without a price: they wait
        if marketable(order, quote):
            self._fill(order, order.amount, taker_price(order.side, quote), "taker")

    def _fill(
        self, order: PaperOrder, amount: Decimal, price: Decimal, liquidity: Liquidity
    ) -> None:
        state = self.symbols[order.symbol]
        if order.reduce_only:
            amount = min(amount, self._reducible(order))
            if amount <= 0:
                self._finish(order, "canceled")
                return
        opening = (
            ZERO
            if order.reduce_only
            else self.ledger.opening_amount(order.symbol, order.side, amount)
        )
        if opening > 0 and order.reserved == 0:
            needed = opening * price * (Decimal(1) / state.leverage + state.market.taker_fee)
            if needed > self.ledger.free(self.reserved()):
                self._finish(order, "rejected")
                return
        rate = state.market.maker_fee if liquidity == "maker" else state.market.taker_fee
        fee = amount * price * rate
        if order.reserved:
            order.reserved -= order.reserved * amount / order.remaining
        self.ledger.apply_fill(order.symbol, order.side, amount, price, state.leverage, self.now_ms)
        self.ledger.charge(fee)
        self._book_fill(order, amount, price, fee, liquidity)

    def _book_fill(
        self, order: PaperOrder, amount: Decimal, price: Decimal, fee: Decimal, liquidity: Liquidity
    ) -> None:
        order.filled += amount
        order.cost += amount * price
        order.fee += fee
        order.updated_ms = self.now_ms
        if order.remaining <= 0:
            order.status, order.reserved = "closed", ZERO
        elif order.type != "limit":  # a market order or triggered stop never rests
            order.status = "canceled"
        self.account.fill_seq += 1
        fill = Fill(
            fill_id=f"paper-fill-{self.account.fill_seq}",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            amount=amount,
            price=price,
            fee=fee,
            fee_currency=self.account.currency,
            liquidity=liquidity,
            ts_ms=self.now_ms,
        )
        self.step.report(order, fill)
        self.step.position(order.symbol, self.ledger.positions.get(order.symbol))

    def _finish(self, order: PaperOrder, status: str) -> None:
        order.status = status  # type: ignore[assignment]
        order.reserved = ZERO
        order.updated_ms = self.now_ms
        self.step.report(order, None)

    def _advance(self, ts_ms: int) -> None:
        """Move market time to `ts_ms`, settling every funding time passed on the way."""
        account, interval = self.account, self.settings.funding_interval_ms
        if ts_ms <= account.now_ms:
            return
        if account.funded_ms == 0:  # first event ever: nothing was open before it
            account.funded_ms = ts_ms // interval * interval
        for funding_ms in funding_times(account.funded_ms, ts_ms, interval):
            account.now_ms = funding_ms
            self._settle_funding(funding_ms)
            account.funded_ms = funding_ms
        account.now_ms = ts_ms

    def _settle_funding(self, ts_ms: int) -> None:
        for symbol, position in list(self.ledger.positions.items()):
            state = self.symbols[symbol]
            rate = (
                state.funding_rate if state.funding_rate is not None else self.settings.funding_rate
            )
            mark = state.quote.last if state.quote is not None else position.entry_price
            amount = self.ledger.fund(position, mark, rate)
            self.step.funding(
                FundingPayment(
                    symbol=symbol,
                    ts_ms=ts_ms,
                    rate=rate,
                    mark_price=mark,
                    size=position.size,
                    amount=amount,
                )
            )
            self.step.position(symbol, position)

    def _check_liquidation(self, symbol: str, low: Decimal, high: Decimal) -> None:
        position = self.ledger.positions.get(symbol)
        if position is None:
            return
        price = liquidation_price(position, self.symbols[symbol].market)
        if price is None:
            return
        if (position.size > 0 and low <= price) or (position.size < 0 and high >= price):
            self._liquidate(position, price)

    def _liquidate(self, position: PaperPosition, price: Decimal) -> None:
        """Close the position at its liquidation price; its whole margin is forfeit (Bitget)."""
        symbol, margin = position.symbol, position.margin
        self.account.order_seq += 1
        order = PaperOrder(
            client_order_id=f"liquidation-{self.account.order_seq}",
            exchange_order_id=f"paper-{self.account.order_seq}",
            symbol=symbol,
            side="sell" if position.size > 0 else "buy",
            type="market",
            amount=abs(position.size),
            reduce_only=True,
            seq=self.account.order_seq,
            created_ms=self.now_ms,
            updated_ms=self.now_ms,
        )
        self._add(order)
        leverage = position.leverage
        pnl = self.ledger.apply_fill(symbol, order.side, order.amount, price, leverage, self.now_ms)
        # What is left of the margin after the loss: the closing fee and the maintenance
        # margin the insurance fund keeps.
        fee = max(ZERO, margin + pnl)
        self.ledger.charge(fee)
        self._book_fill(order, order.amount, price, fee, "taker")
        for other in self._open_of(symbol, "limit") + self._open_of(symbol, "stop"):
            if other.reduce_only:
                self._finish(other, "canceled")
