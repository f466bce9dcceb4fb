"""The DuckDB warehouse: its schema, partition writes and the SQL models assets run in it."""
