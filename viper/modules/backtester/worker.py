"""The parent's handle on one backtest process (`python -m viper.backtest.child`)."""

from __future__ import annotations

from viper.backtest import child
from viper.backtest.runs import BacktestSpec
from viper.child_process import ChildProcess, child_env

CHILD_MODULE = "viper.backtest.child"
__all__ = ["CHILD_MODULE", "WorkerProcess", "child_env"]


class WorkerProcess(ChildProcess[child.Message]):
    """One child process running one backtest spec."""

    def __init__(self, spec: BacktestSpec) -> None:
        super().__init__(CHILD_MODULE, child.encode_spec(spec), child.decode_message)
