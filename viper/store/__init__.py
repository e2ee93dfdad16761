"""Persistent state: the SQLite database and (from the data layer) the Parquet candle store."""
