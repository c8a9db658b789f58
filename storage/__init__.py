"""Persistence: tables, engine and transactions, migrations."""
