"""The web dashboard, served at the root of the router."""

from viper.modules.web.module import WebModule as module

__all__ = ["module"]
