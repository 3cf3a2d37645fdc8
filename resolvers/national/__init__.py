"""The national hub's storage: reference data, unified identity and evaluation in one SQLite file."""
