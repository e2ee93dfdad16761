"""Market data in the store's schema: file importers, a synthetic market, frame helpers."""
