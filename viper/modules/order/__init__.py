"""Order lifecycle manager: the order journal and state machine."""

from viper.modules.order.module import OrderModule as module

__all__ = ["module"]
