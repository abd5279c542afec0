"""The DuckDB warehouse: schema migrations, bulk saves on natural keys, named queries."""
