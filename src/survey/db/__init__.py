"""The database: engine, transactions and group commit (engine), every table (models), Alembic migrations."""
