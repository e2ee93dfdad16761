"""The backtester's exchange model: Bitget USDT-M perpetual fees, slippage, funding, liquidation.

Defaults are Bitget's standard (VIP 0) USDT-M futures rates; every figure is a parameter.

    fee             notional * rate at each fill, notional = size * fill price
                    taker (0.06%): market entries and exits, stop-loss, trailing stop, kill switch
                    maker (0.02%): take-profit limit exits
    slippage        market and stop fills move `slippage_bps` against the trader:
                    buy at price * (1 + s), sell at price * (1 - s); none on take-profit limits
    funding         at each funding event (every 8 h where data exists), a position held into
                    the bar that contains the event pays  side * size * open * rate :
                    longs pay a positive rate, shorts receive it (negative rates the reverse)
    margin          isolated: margin = notional / leverage at entry
    liquidation     Bitget's isolated formula, with d = +1 long, -1 short:
                    liq = (margin - size * entry * d) / (size * (mmr + taker - d))
                    i.e. entry * (1 - 1/L) / (1 - mmr - taker) for a long at leverage L;
                    liquidated when the bar's low (long) / high (short) reaches it, before the
                    stop-loss when both are touched (pessimistic); the whole margin is lost:
                    the trade exits at the liquidation price and the rest of the margin is
                    booked as its exit fee, so pnl - fees = -margin exactly.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

from viper.jit import kernel

BITGET_TAKER: Final = 0.0006
BITGET_MAKER: Final = 0.0002
BITGET_BTC_MMR: Final = 0.004  # tier-1 maintenance margin rate of BTCUSDT

Rate = Annotated[float, Meta(ge=-0.01, le=0.1)]


class FeeModel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Fees, slippage and margin rules of the simulated exchange."""

    taker_fee: Annotated[Rate, Meta(description="Fee rate of market and stop fills")] = BITGET_TAKER
    maker_fee: Annotated[Rate, Meta(description="Fee rate of take-profit limit fills")] = (
        BITGET_MAKER
    )
    slippage_bps: Annotated[
        float, Meta(ge=0, le=1000, description="Market and stop fills move this against you")
    ] = 2.0
    maintenance_margin_rate: Annotated[
        float, Meta(ge=0, lt=1, description="Maintenance margin rate (tier 1) for liquidation")
    ] = BITGET_BTC_MMR
    funding: Annotated[bool, Meta(description="Charge funding where funding data is given")] = True

    @property
    def slippage(self) -> float:
        """Slippage as a fraction of the price."""
        return self.slippage_bps / 10_000.0


@kernel()
def fill_price(price: float, is_buy: bool, slippage: float) -> float:
    """`price` moved `slippage` against the trader of a buy (`is_buy`) or a sell."""
    return price * (1.0 + slippage) if is_buy else price * (1.0 - slippage)


@kernel()
def fee(size: float, price: float, rate: float) -> float:
    """The fee of one fill: notional times rate."""
    return size * price * rate


@kernel()
def liquidation_price(entry: float, side: int, leverage: float, mmr: float, taker: float) -> float:
    """Bitget's isolated-margin liquidation price for a position of any size."""
    margin_per_unit = entry / leverage
    price = (margin_per_unit - entry * side) / (mmr + taker - side)
    return max(price, 0.0)


@kernel()
def funding_payment(size: float, price: float, side: int, rate: float) -> float:
    """What the position pays at one funding event (negative: it receives)."""
    return side * size * price * rate
