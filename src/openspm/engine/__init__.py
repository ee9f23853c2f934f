"""Where expressions run: DuckDB in-process by default."""
