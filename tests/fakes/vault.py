"""A SecretStore as the vault module provides it: named values, each hidden from the logs.

The real vault seals values at rest; this one keeps them in memory. Like the vault, it hands
every value it holds to the log redactor.
"""

from __future__ import annotations

from viper.protocols import SecretRedactor


class FakeVault:
    """`SecretStore.get` over a dict; `set` also tells the redactor."""

    def __init__(self, redactor: SecretRedactor | None = None, **values: str) -> None:
        self._redactor = redactor
        self._values: dict[str, str] = {}
        self.reads: list[str] = []
        for name, value in values.items():
            self.set(name.replace("__", "."), value)

    def set(self, name: str, value: str) -> None:
        self._values[name] = value
        if self._redactor is not None:
            self._redactor.add(value)

    async def get(self, name: str) -> str | None:
        self.reads.append(name)
        return self._values.get(name)
