"""Alembic migrations of the trackline-sql schema (version table ``trackline_alembic_version``)."""
