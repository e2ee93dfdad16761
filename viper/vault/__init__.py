"""The credential vault's core: the master key, AES-GCM sealed secrets in SQLite, API tokens.

Plain code that knows nothing of HTTP or the bus: the vault module serves it under /vault and
the `viper vault` command uses it directly.
"""
