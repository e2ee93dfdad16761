"""Column layouts shared by the backtest kernel and its Python wrapper.

The kernel works on plain float arrays; these constants name their columns (numba reads
module-level ints as compile-time constants).
"""

from __future__ import annotations

from typing import Final

# decision flags, one int8 per symbol and bar
ENTRY_LONG: Final = 1
ENTRY_SHORT: Final = 2
EXIT_LONG: Final = 4
EXIT_SHORT: Final = 8
ENTRY_ANY: Final = ENTRY_LONG | ENTRY_SHORT

# run settings: cfg[...]
C_INITIAL: Final = 0
C_SIZING: Final = 1  # 0 risk, 1 fixed fraction
C_RISK: Final = 2
C_FRACTION: Final = 3
C_LEVERAGE: Final = 4
C_MAX_LEVERAGE: Final = 5
C_MAX_OPEN: Final = 6
C_DAILY_LIMIT: Final = 7
C_MAX_DD: Final = 8
C_MAX_EXPOSURE: Final = 9
C_MAX_NOTIONAL: Final = 10
C_TAKER: Final = 11
C_MAKER: Final = 12
C_SLIPPAGE: Final = 13
C_TF_MS: Final = 14
N_CFG: Final = 15
SIZING_RISK: Final = 0
SIZING_FIXED_FRACTION: Final = 1

# market rules of each symbol: market[s, ...]
M_STEP: Final = 0
M_MIN_AMOUNT: Final = 1
M_MIN_NOTIONAL: Final = 2
M_MMR: Final = 3
N_MARKET: Final = 4

# open position of each symbol: pos[s, ...]
P_SIDE: Final = 0
P_SIZE: Final = 1
P_ENTRY: Final = 2
P_ENTRY_TS: Final = 3
P_STOP: Final = 4
P_TP: Final = 5
P_TRAIL: Final = 6
P_BEST: Final = 7
P_LIQ: Final = 8
P_MARGIN: Final = 9
P_ENTRY_FEE: Final = 10
P_FUNDING: Final = 11
P_LEVERAGE: Final = 12
P_EFF: Final = 13  # the binding stop level (fixed or trailing), NaN if none
P_EFF_X: Final = 14  # its exit reason
N_POS: Final = 15

# closed trades: trades[k, ...]
T_SYMBOL: Final = 0
T_SIDE: Final = 1
T_ENTRY_TS: Final = 2
T_EXIT_TS: Final = 3
T_ENTRY_PRICE: Final = 4
T_EXIT_PRICE: Final = 5
T_SIZE: Final = 6
T_ENTRY_FEE: Final = 7
T_EXIT_FEE: Final = 8
T_FUNDING: Final = 9
T_PNL: Final = 10
T_REASON: Final = 11
T_LEVERAGE: Final = 12
N_TRADE: Final = 13

# account: acct[...]
A_CASH: Final = 0
A_EQUITY: Final = 1
A_PEAK: Final = 2
A_DAY: Final = 3
A_DAY_START: Final = 4
A_BLOCKED: Final = 5
A_HALTED: Final = 6
A_NTRADES: Final = 7
A_OPEN: Final = 8
A_EXPOSED_BARS: Final = 9
A_FUNDING_EVENTS: Final = 10
A_RET_N: Final = 11  # per-bar return statistics, filled after the run
A_RET_MEAN: Final = 12
A_RET_M2: Final = 13
A_RET_DOWN2: Final = 14
A_MAX_DD: Final = 15
N_ACCT: Final = 16

# exit reasons: trades[k, T_REASON]
X_SIGNAL: Final = 0
X_STOP: Final = 1
X_TAKE_PROFIT: Final = 2
X_TRAIL: Final = 3
X_LIQUIDATION: Final = 4
X_KILL_SWITCH: Final = 5
X_END: Final = 6
EXIT_REASONS: Final[tuple[str, ...]] = (
    "signal",
    "stop_loss",
    "take_profit",
    "trailing_stop",
    "liquidation",
    "kill_switch",
    "end_of_data",
)

DAY_MS: Final = 86_400_000
