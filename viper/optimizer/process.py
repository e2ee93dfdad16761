"""The parent's handle on one optimizer worker process (`python -m viper.optimizer.child`)."""

from __future__ import annotations

from viper.child_process import ChildProcess, child_env
from viper.optimizer import child
from viper.optimizer.work import Task

CHILD_MODULE = "viper.optimizer.child"
__all__ = ["CHILD_MODULE", "WorkerProcess", "child_env"]


class WorkerProcess(ChildProcess[child.Message]):
    """One child process running one optimizer task."""

    def __init__(self, task: Task) -> None:
        super().__init__(CHILD_MODULE, child.encode_task(task), child.decode_message)
