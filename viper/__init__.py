"""VIPER: a crypto-futures trading bot that runs as one asyncio process."""

__version__ = "0.1.0"
